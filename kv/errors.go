package kv

import (
	"strconv"
)

// Error codes of the v2 API (spec §5.3). The store itself returns only 100,
// 101, 102, 104, 105, 107, 108 and 401; the others are here so that the HTTP
// layer builds every key-space error with NewError and renders it with
// AppendJSON.
const (
	EcodeKeyNotFound      = 100
	EcodeTestFailed       = 101
	EcodeNotFile          = 102
	EcodeNoMorePeer       = 103
	EcodeNotDir           = 104
	EcodeNodeExist        = 105
	EcodeKeyIsPreserved   = 106
	EcodeRootROnly        = 107
	EcodeDirNotEmpty      = 108
	EcodeExistingPeerAddr = 109
	EcodeUnauthorized     = 110

	EcodeValueRequired        = 200
	EcodePrevValueRequired    = 201
	EcodeTTLNaN               = 202
	EcodeIndexNaN             = 203
	EcodeValueOrTTLRequired   = 204
	EcodeTimeoutNaN           = 205
	EcodeNameRequired         = 206
	EcodeIndexOrValueRequired = 207
	EcodeIndexValueMutex      = 208
	EcodeInvalidField         = 209
	EcodeInvalidForm          = 210
	EcodeRefreshValue         = 211
	EcodeRefreshTTLRequired   = 212

	EcodeRaftInternal = 300
	EcodeLeaderElect  = 301

	EcodeWatcherCleared     = 400
	EcodeEventIndexCleared  = 401
	EcodeStandbyInternal    = 402
	EcodeInvalidActiveSize  = 403
	EcodeInvalidRemoveDelay = 404

	EcodeClientInternal = 500
)

// Message returns etcd's fixed message for an error code, or "" for a code
// etcd does not define.
func Message(code int) string {
	switch code {
	case EcodeKeyNotFound:
		return "Key not found"
	case EcodeTestFailed:
		return "Compare failed"
	case EcodeNotFile:
		return "Not a file"
	case EcodeNoMorePeer:
		return "Reached the max number of peers in the cluster"
	case EcodeNotDir:
		return "Not a directory"
	case EcodeNodeExist:
		return "Key already exists"
	case EcodeKeyIsPreserved:
		return "The prefix of given key is a keyword in etcd"
	case EcodeRootROnly:
		return "Root is read only"
	case EcodeDirNotEmpty:
		return "Directory not empty"
	case EcodeExistingPeerAddr:
		return "Peer address has existed"
	case EcodeUnauthorized:
		return "The request requires user authentication"
	case EcodeValueRequired:
		return "Value is Required in POST form"
	case EcodePrevValueRequired:
		return "PrevValue is Required in POST form"
	case EcodeTTLNaN:
		return "The given TTL in POST form is not a number"
	case EcodeIndexNaN:
		return "The given index in POST form is not a number"
	case EcodeValueOrTTLRequired:
		return "Value or TTL is required in POST form"
	case EcodeTimeoutNaN:
		return "The given timeout in POST form is not a number"
	case EcodeNameRequired:
		return "Name is required in POST form"
	case EcodeIndexOrValueRequired:
		return "Index or value is required"
	case EcodeIndexValueMutex:
		return "Index and value cannot both be specified"
	case EcodeInvalidField:
		return "Invalid field"
	case EcodeInvalidForm:
		return "Invalid POST form"
	case EcodeRefreshValue:
		return "Value provided on refresh"
	case EcodeRefreshTTLRequired:
		return "A TTL must be provided on refresh"
	case EcodeRaftInternal:
		return "Raft Internal Error"
	case EcodeLeaderElect:
		return "During Leader Election"
	case EcodeWatcherCleared:
		return "watcher is cleared due to etcd recovery"
	case EcodeEventIndexCleared:
		return "The event in requested index is outdated and cleared"
	case EcodeStandbyInternal:
		return "Standby Internal Error"
	case EcodeInvalidActiveSize:
		return "Invalid active size"
	case EcodeInvalidRemoveDelay:
		return "Standby remove delay"
	case EcodeClientInternal:
		return "Client Internal Error"
	}
	return ""
}

// Error is a v2 key-space error: what the client sees as
// {"errorCode":N,"message":"…","cause":"…","index":N}.
//
// Cause holds store paths in their internal form (/1/foo); AppendJSON and
// Error show them as the client sees them (/foo), see DisplayKey.
type Error struct {
	Code    int
	Message string
	Cause   string
	Index   uint64
}

// NewError returns an error with code's message, the cause and the etcd
// index to report (0 for validation, auth and raft errors).
func NewError(code int, cause string, index uint64) *Error {
	return &Error{Code: code, Message: Message(code), Cause: cause, Index: index}
}

// Error formats the error as etcdctl shows it, with a package prefix:
// "kv: 100: Key not found (/foo) [7]".
func (e *Error) Error() string {
	b := []byte("kv: ")
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, ": "...)
	b = append(b, e.Message...)
	b = append(b, " ("...)
	b = append(b, displayCause(e.Cause)...)
	b = append(b, ") ["...)
	b = strconv.AppendUint(b, e.Index, 10)
	b = append(b, ']')
	return string(b)
}

// StatusCode is the HTTP status etcd 2.3 answers with for this error
// (spec §5.2): 404 for 100; 412 for 101 and 105; 403 for 102 and 108; 401
// for 110; 500 for 300 and 301; 400 for everything else (401 included).
func (e *Error) StatusCode() int {
	switch e.Code {
	case EcodeKeyNotFound:
		return 404
	case EcodeTestFailed, EcodeNodeExist:
		return 412
	case EcodeNotFile, EcodeDirNotEmpty:
		return 403
	case EcodeUnauthorized:
		return 401
	case EcodeRaftInternal, EcodeLeaderElect:
		return 500
	}
	return 400
}

// AppendJSON appends the error's JSON object (no trailing newline) to b.
// The cause is left out when it is empty once the /1 prefix is stripped.
func (e *Error) AppendJSON(b []byte) []byte {
	b = append(b, `{"errorCode":`...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	if c := displayCause(e.Cause); c != "" {
		b = append(b, `,"cause":`...)
		b = appendString(b, c)
	}
	b = append(b, `,"index":`...)
	b = strconv.AppendUint(b, e.Index, 10)
	return append(b, '}')
}

// displayCause strips the user key space prefix from a cause the way etcd
// does: "/1/foo" becomes "/foo" and "/1" becomes "" (so a compare-and-delete
// on the root has no cause at all, as etcd 2.3.8 answers).
func displayCause(c string) string {
	if c == keysPrefix {
		return ""
	}
	return DisplayKey(c)
}
