package lin

// Short constructors for hand-made histories. Every operation is on key
// "k" unless on() moves it; times are plain numbers.

func rd(client int, call, ret int64, got string) Op {
	return Op{Client: client, Key: "k", Kind: Get, Call: call, Return: ret, Got: got}
}

func rdNone(client int, call, ret int64) Op {
	return Op{Client: client, Key: "k", Kind: Get, Call: call, Return: ret, Code: CodeKeyNotFound}
}

func wr(client int, call, ret int64, v string) Op {
	return Op{Client: client, Key: "k", Kind: Put, Value: v, Call: call, Return: ret}
}

func cas(client int, call, ret int64, prev, v string, code int) Op {
	return Op{Client: client, Key: "k", Kind: CompareAndSwap, Prev: prev, Value: v, Call: call, Return: ret, Code: code}
}

func cre(client int, call, ret int64, v string, code int) Op {
	return Op{Client: client, Key: "k", Kind: Create, Value: v, Call: call, Return: ret, Code: code}
}

func upd(client int, call, ret int64, v string, code int) Op {
	return Op{Client: client, Key: "k", Kind: Update, Value: v, Call: call, Return: ret, Code: code}
}

func del(client int, call, ret int64, code int) Op {
	return Op{Client: client, Key: "k", Kind: Delete, Call: call, Return: ret, Code: code}
}

func cad(client int, call, ret int64, prev string, code int) Op {
	return Op{Client: client, Key: "k", Kind: CompareAndDelete, Prev: prev, Call: call, Return: ret, Code: code}
}

// lost makes op's outcome unknown.
func lost(op Op) Op {
	op.Return, op.Code, op.Got = Unknown, 0, ""
	return op
}

// on moves op to key.
func on(key string, op Op) Op {
	op.Key = key
	return op
}

// hist builds a history.
func hist(ops ...Op) []Op { return ops }
