package main

import (
	"bytes"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
)

func TestReadLine(t *testing.T) {
	tests := []struct {
		in, line, rest string
	}{
		{"secret\nvalue", "secret", "value"},
		{"secret\r\nvalue\n", "secret", "value\n"},
		{"no newline", "no newline", ""},
		{"", "", ""},
		{"\n\n", "", "\n"},
	}
	for _, tt := range tests {
		r := strings.NewReader(tt.in)
		line, err := readLine(r)
		rest, _ := io.ReadAll(r)
		if err != nil || line != tt.line || string(rest) != tt.rest {
			t.Errorf("readLine(%q) = %q, %v, rest %q", tt.in, line, err, rest)
		}
	}
}

func TestReadPasswordFromPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w.WriteString("pw\nthe value\n")
	w.Close()
	var out bytes.Buffer
	pw, err := readPassword(r, &out, "Password: ")
	if err != nil || pw != "pw" || out.String() != "Password: \n" {
		t.Errorf("readPassword = %q, %v; printed %q", pw, err, out.String())
	}
	if isTerminal(r) {
		t.Error("a pipe is not a terminal")
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != "the value\n" {
		t.Errorf("left %q on stdin", rest)
	}
}

// TestPasswordThenValueFromStdin runs set with the password and the value
// both on stdin, as "printf 'pw\nvalue' | etcdctl -u root set k" does.
func TestPasswordThenValueFromStdin(t *testing.T) {
	s := newStub(t).on("PUT /v2/keys/k", keys(201, 4, `{"action":"set","node":{"key":"/k","value":"value","modifiedIndex":4,"createdIndex":4}}`))
	var stdout, stderr syncBuffer
	stdin := strings.NewReader("pw\nvalue")
	a := &app{stdin: stdin, stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" },
		shuffle: func([]url.URL) {},
		readPassword: func(prompt string) (string, error) {
			io.WriteString(&stdout, prompt)
			line, err := readLine(stdin)
			io.WriteString(&stdout, "\n")
			return line, err
		}}
	code := a.run(ep(s.URL, "--no-sync", "-u", "root", "set", "k"))
	if code != 0 || stdout.String() != "Password: \nvalue\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	if reqs := s.got(); len(reqs) != 1 || reqs[0] != "PUT /v2/keys/k -d value=value" || s.auth[0] != "Basic "+basic("root", "pw") {
		t.Errorf("requests %q, auth %q", reqs, s.auth)
	}
}
