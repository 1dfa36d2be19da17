package lin

import "testing"

// FuzzCheck decodes a small history of one key from the fuzzer's bytes
// (four bytes an operation) and compares the checker's verdict with the
// brute-force oracle's; a failing history's witness must be a proof.
func FuzzCheck(f *testing.F) {
	f.Add([]byte{1, 0, 3, 0, 5, 2, 1, 0})
	f.Add([]byte{1, 0, 1, 0, 1, 4, 1, 1, 0, 8, 1, 0})
	f.Add([]byte{4, 0, 9, 1, 4, 1, 9, 2, 5, 12, 2, 0, 0, 14, 2, 1})
	f.Add([]byte{2, 3, 3, 3, 1, 0, 255, 0, 0, 5, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		ops := decodeHistory(data)
		compareWithOracle(t, "fuzz", ops, State{}, Options{})
	})
}

// decodeHistory turns bytes into at most 8 operations on key "k". Each
// takes four bytes: kind and value (one byte), call, duration (255:
// unknown outcome), answer.
func decodeHistory(data []byte) []Op {
	kinds := []Kind{Get, Put, Create, Update, CompareAndSwap, Delete, CompareAndDelete}
	vals := []string{"a", "b", "c"}
	var ops []Op
	for i := 0; i+4 <= len(data) && len(ops) < 8; i += 4 {
		b0, call, dur, ans := data[i], int64(data[i+1]%32), data[i+2], data[i+3]
		op := Op{Client: len(ops), Key: "k", Kind: kinds[int(b0)%len(kinds)], Call: call, Return: call + int64(dur%16)}
		if op.Kind.writesValue() {
			op.Value = vals[int(b0/8)%3]
		}
		if op.Kind.compares() {
			op.Prev = vals[int(b0/32)%3]
		}
		switch {
		case dur == 255:
			op.Return = Unknown
		case op.Kind == Get && ans%4 != 0:
			op.Got = vals[int(ans)%3]
		default:
			op.Code = []int{CodeOK, CodeKeyNotFound, CodeTestFailed, CodeNodeExist}[int(ans/4)%4]
			if !op.Kind.codeAllowed(op.Code) {
				op.Code = CodeOK
			}
		}
		ops = append(ops, op)
	}
	return ops
}
