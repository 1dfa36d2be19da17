package lin

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Kind is the kind of an operation on one key, named after the v2 keys API
// request that performs it.
type Kind uint8

// The kinds of operation the register model knows. Each line gives the v2
// request and the answers (Op.Code) it may have.
const (
	Get              Kind = iota + 1 // GET ?quorum=true: 0 with Got, or 100 (key not found)
	Put                              // PUT value=V: 0
	Create                           // PUT prevExist=false value=V: 0, or 105 (node exists)
	Update                           // PUT prevExist=true value=V: 0, or 100
	CompareAndSwap                   // PUT prevValue=P value=V: 0, 100, or 101 (compare failed)
	Delete                           // DELETE: 0, or 100
	CompareAndDelete                 // DELETE ?prevValue=P: 0, 100, or 101
)

// The answers an operation may have: 0 for success, otherwise the v2 error
// code etcd answers with.
const (
	CodeOK          = 0   // the request succeeded
	CodeKeyNotFound = 100 // "Key not found"
	CodeTestFailed  = 101 // "Compare failed"
	CodeNodeExist   = 105 // "Key already exists"
)

// Unknown is the Return time of an operation whose outcome is unknown: the
// request timed out or its connection failed after it was sent. Such an
// operation may have taken effect at any time after its Call, or never, and
// its Code and Got are ignored.
const Unknown int64 = math.MaxInt64

// Op is one operation of a history: a request a client sent to the cluster
// and the answer it got. Times are nanoseconds on one monotonic clock (a
// Recorder uses time since its creation); only their order matters.
type Op struct {
	Client int    // the client (a sequential process) that sent it
	Key    string // the key it acts on
	Kind   Kind
	Value  string // the value written (Put, Create, Update, CompareAndSwap)
	Prev   string // the value compared (CompareAndSwap, CompareAndDelete)
	Call   int64  // when the request was sent (taken before sending)
	Return int64  // when the answer arrived (taken after receiving), or Unknown
	Code   int    // the answer: CodeOK or a v2 error code
	Got    string // the value a Get read (when Code is CodeOK)
}

// State is what one key holds: nothing, or a value.
type State struct {
	Exists bool
	Value  string
}

// String renders a state as the checker's messages show it: the quoted
// value, or "absent".
func (s State) String() string {
	if !s.Exists {
		return "absent"
	}
	return strconv.Quote(s.Value)
}

var kindNames = [...]string{
	Get:              "get",
	Put:              "put",
	Create:           "create",
	Update:           "update",
	CompareAndSwap:   "cas",
	Delete:           "delete",
	CompareAndDelete: "cad",
}

// String returns the kind's short name (get, put, create, update, cas,
// delete, cad).
func (k Kind) String() string {
	if k == 0 || int(k) >= len(kindNames) {
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

func (k Kind) valid() bool { return k >= Get && k <= CompareAndDelete }

// writesValue reports whether the kind carries a Value to write.
func (k Kind) writesValue() bool {
	return k == Put || k == Create || k == Update || k == CompareAndSwap
}

// compares reports whether the kind carries a Prev to compare.
func (k Kind) compares() bool { return k == CompareAndSwap || k == CompareAndDelete }

// codeAllowed reports whether a completed operation of kind k may have
// answered with code c.
func (k Kind) codeAllowed(c int) bool {
	switch c {
	case CodeOK:
		return true
	case CodeKeyNotFound:
		return k == Get || k == Update || k == CompareAndSwap || k == Delete || k == CompareAndDelete
	case CodeTestFailed:
		return k == CompareAndSwap || k == CompareAndDelete
	case CodeNodeExist:
		return k == Create
	}
	return false
}

// Unknown reports whether the operation's outcome is unknown.
func (op Op) Unknown() bool { return op.Return == Unknown }

// readOnly reports whether a completed operation left the key unchanged:
// a Get, or a conditional operation whose condition failed.
func (op Op) readOnly() bool {
	return !op.Unknown() && (op.Kind == Get || op.Code != CodeOK)
}

// validate checks that op is an operation the model understands, with an
// answer its kind can have.
func (op Op) validate() error {
	switch {
	case !op.Kind.valid():
		return fmt.Errorf("unknown kind %d", op.Kind)
	case op.Call == Unknown:
		return fmt.Errorf("call time is the Unknown marker")
	case op.Return < op.Call:
		return fmt.Errorf("returns at %d, before its call at %d", op.Return, op.Call)
	case op.Value != "" && !op.Kind.writesValue():
		return fmt.Errorf("%s has a Value (%q) but writes none", op.Kind, op.Value)
	case op.Prev != "" && !op.Kind.compares():
		return fmt.Errorf("%s has a Prev (%q) but compares none", op.Kind, op.Prev)
	case op.Unknown():
		return nil
	case !op.Kind.codeAllowed(op.Code):
		return fmt.Errorf("%s cannot answer with code %d (record the operation as unknown, or leave it out if it surely did not happen)", op.Kind, op.Code)
	case op.Got != "" && (op.Kind != Get || op.Code != CodeOK):
		return fmt.Errorf("%s answered %d but has a Got value (%q)", op.Kind, op.Code, op.Got)
	}
	return nil
}

// codeText names an answer code.
func codeText(c int) string {
	switch c {
	case CodeKeyNotFound:
		return "100 not found"
	case CodeTestFailed:
		return "101 compare failed"
	case CodeNodeExist:
		return "105 exists"
	}
	return strconv.Itoa(c)
}

// Describe renders the request and its answer, without client or times:
// `cas "a" -> "b" : 101 compare failed`.
func (op Op) Describe() string {
	var b strings.Builder
	b.WriteString(op.Kind.String())
	if op.Kind.compares() {
		b.WriteString(" " + strconv.Quote(op.Prev))
		if op.Kind == CompareAndSwap {
			b.WriteString(" ->")
		}
	}
	if op.Kind.writesValue() {
		b.WriteString(" " + strconv.Quote(op.Value))
	}
	b.WriteString(" : ")
	switch {
	case op.Unknown():
		b.WriteString("unknown")
	case op.Kind == Get && op.Code == CodeOK:
		b.WriteString(strconv.Quote(op.Got))
	case op.Code == CodeOK:
		b.WriteString("ok")
	default:
		b.WriteString(codeText(op.Code))
	}
	return b.String()
}

// String renders the whole operation on one line:
// `client 3 key "k" [1.2ms, 1.5ms] cas "a" -> "b" : ok`.
func (op Op) String() string {
	return fmt.Sprintf("client %d key %q %s %s", op.Client, op.Key, span(op.Call, op.Return), op.Describe())
}

// span renders an operation's interval of time.
func span(call, ret int64) string {
	r := "?"
	if ret != Unknown {
		r = time.Duration(ret).String()
	}
	return "[" + time.Duration(call).String() + ", " + r + "]"
}
