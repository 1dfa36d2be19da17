package kv

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func randomRequest(rng *rand.Rand) Request {
	strs := []string{"", "/1/a", "/1/a/b/c", "\xff\x00<>", "value with spaces", string(make([]byte, 300))}
	return Request{
		ID:         rng.Uint64() >> rng.IntN(64),
		Method:     Method(1 + rng.IntN(5)),
		Path:       strs[rng.IntN(len(strs))],
		Val:        strs[rng.IntN(len(strs))],
		Dir:        rng.IntN(2) == 0,
		PrevExist:  PrevExist(rng.IntN(3)),
		PrevValue:  strs[rng.IntN(len(strs))],
		PrevIndex:  rng.Uint64() >> rng.IntN(64),
		Recursive:  rng.IntN(2) == 0,
		Sorted:     rng.IntN(2) == 0,
		Refresh:    rng.IntN(2) == 0,
		Expiration: rng.Int64() >> rng.IntN(64),
		Time:       -rng.Int64() >> rng.IntN(64),
	}
}

func TestRequestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		r := randomRequest(rng)
		b := r.Marshal()
		var got Request
		if err := got.Unmarshal(b); err != nil {
			t.Fatalf("Unmarshal(Marshal(%+v)): %v", r, err)
		}
		if got != r {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, r)
		}
		// Every proper prefix is an error, and so are trailing bytes.
		for i := range len(b) {
			var q Request
			if err := q.Unmarshal(b[:i]); err == nil || !errors.Is(err, ErrMalformedRequest) {
				t.Fatalf("prefix of %d/%d bytes decoded: %v", i, len(b), err)
			}
			if q != (Request{}) {
				t.Fatalf("a failed Unmarshal changed the request")
			}
		}
		if err := got.Unmarshal(append(b, 0)); err == nil {
			t.Fatalf("trailing byte accepted")
		}
	}
}

func TestRequestUnmarshalErrors(t *testing.T) {
	good := (&Request{Method: MethodPut, Path: "/1/a", Val: "v"}).Marshal()
	mutate := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	tests := map[string][]byte{
		"empty":           nil,
		"version":         mutate(func(b []byte) []byte { b[0] = 2; return b }),
		"method 0":        mutate(func(b []byte) []byte { b[1] = 0; return b }),
		"method 6":        mutate(func(b []byte) []byte { b[1] = 6; return b }),
		"unknown flag":    mutate(func(b []byte) []byte { b[2] = 0x40; return b }),
		"both prevExists": mutate(func(b []byte) []byte { b[2] = reqPrevExistTrue | reqPrevExistFalse; return b }),
		"huge length":     {1, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"overlong varint": {1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	}
	for name, b := range tests {
		var r Request
		if err := r.Unmarshal(b); !errors.Is(err, ErrMalformedRequest) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if MethodSync.String() != "SYNC" || MethodQGet.String() != "QGET" || Method(9).String() != "Method(9)" {
		t.Errorf("method names")
	}
}

func FuzzRequestUnmarshal(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 20 {
		r := randomRequest(rng)
		f.Add(r.Marshal())
	}
	f.Add([]byte{1, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Request
		if err := r.Unmarshal(b); err != nil {
			return
		}
		var again Request
		if err := again.Unmarshal(r.Marshal()); err != nil || again != r {
			t.Fatalf("re-encoding %+v: %v, %+v", r, err, again)
		}
	})
}
