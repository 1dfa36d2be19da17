package main

import (
	"encoding/json"
	"fmt"
	"io"
)

// Output formats of --output.
const (
	formatSimple   = "simple"
	formatExtended = "extended"
	formatJSON     = "json"
)

// printResponse prints a key result in the chosen format:
//
//   - simple: the node's value on a line; for a delete, the old value as
//     "PrevNode.Value: <value>";
//   - extended: Key, Created-Index, Modified-Index, PrevNode.Value (only
//     when there is a previous node), TTL and Index (from X-Etcd-Index),
//     then, except for a delete, a blank line and the value;
//   - json: the response object on one line, without the index.
//
// Any other format writes "Unsupported output format: <f>" to errw and
// prints nothing, as etcdctl does (the command still succeeds).
func printResponse(w, errw io.Writer, resp *keysResponse, format string) {
	n := resp.node()
	switch format {
	case formatSimple:
		if resp.Action != "delete" {
			fmt.Fprintln(w, n.Value)
		} else {
			fmt.Fprintln(w, "PrevNode.Value:", prevValue(resp))
		}
	case formatExtended:
		fmt.Fprintln(w, "Key:", n.Key)
		fmt.Fprintln(w, "Created-Index:", n.CreatedIndex)
		fmt.Fprintln(w, "Modified-Index:", n.ModifiedIndex)
		if resp.PrevNode != nil {
			fmt.Fprintln(w, "PrevNode.Value:", resp.PrevNode.Value)
		}
		fmt.Fprintln(w, "TTL:", n.TTL)
		fmt.Fprintln(w, "Index:", resp.Index)
		if resp.Action != "delete" {
			fmt.Fprintln(w)
			fmt.Fprintln(w, n.Value)
		}
	case formatJSON:
		b, err := json.Marshal(resp)
		if err != nil {
			// Only an expiration time outside years 0-9999 can fail
			// here, and the server cannot send one: decoding it would
			// have failed first. Say so rather than print half a line.
			fmt.Fprintln(errw, "etcdctl: cannot print the response as JSON:", err)
			return
		}
		fmt.Fprintln(w, string(b))
	default:
		fmt.Fprintln(errw, "Unsupported output format:", format)
	}
}

// prevValue is the previous value of a response, empty when there is no
// previous node.
func prevValue(resp *keysResponse) string {
	if resp.PrevNode == nil {
		return ""
	}
	return resp.PrevNode.Value
}

// printList prints the keys of a listing, as ls does: the key itself when
// it is not a directory, then every listed node depth first, directories
// with a trailing slash when slash is set.
func printList(w io.Writer, resp *keysResponse, slash bool) {
	n := resp.node()
	if !n.Dir {
		fmt.Fprintln(w, n.Key)
	}
	for _, child := range n.Nodes {
		printTree(w, child, slash)
	}
}

// printTree prints one node of a listing and its children.
func printTree(w io.Writer, n *node, slash bool) {
	if n == nil {
		return
	}
	if n.Dir && slash {
		fmt.Fprintf(w, "%v/\n", n.Key)
	} else {
		fmt.Fprintln(w, n.Key)
	}
	for _, child := range n.Nodes {
		printTree(w, child, slash)
	}
}
