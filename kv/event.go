package kv

// The actions an event can carry (the "action" field).
const (
	ActionGet              = "get"
	ActionSet              = "set"
	ActionCreate           = "create"
	ActionUpdate           = "update"
	ActionCompareAndSwap   = "compareAndSwap"
	ActionDelete           = "delete"
	ActionCompareAndDelete = "compareAndDelete"
	ActionExpire           = "expire"
)

// Node is a copy of a node as an event shows it. Keys are full internal
// paths (/1/foo); rendering strips the /1 prefix (see DisplayKey).
type Node struct {
	Key   string
	Value string
	// NoValue hides the value of a file: the node of a delete,
	// compare-and-delete or expire event has none. Directories never show
	// a value.
	NoValue bool
	Dir     bool
	// Expiration is the node's deadline in Unix nanoseconds, 0 for a node
	// without TTL.
	Expiration    int64
	ModifiedIndex uint64
	CreatedIndex  uint64
	// Nodes are the visible children of a directory in a get event (the
	// whole visible subtree when the get was recursive), nil otherwise.
	Nodes []Node
}

// Event is the result of a store operation and what watchers receive. An
// event is never changed once made: the history and every watcher share it.
type Event struct {
	Action   string
	Node     Node
	PrevNode *Node
	// EtcdIndex is the store's index right after the operation (for a get,
	// the index at the time of the read): the X-Etcd-Index of a write's
	// response.
	EtcdIndex uint64
	// Refresh marks a TTL refresh (spec §3.12): it is kept in the history
	// but never delivered to a watcher.
	Refresh bool
	// time is the reference clock of the ttl fields (Unix nanoseconds):
	// the request's Time, or 0 to use the time of rendering.
	time int64
}

// Index is the etcd index the event happened at (its node's
// modifiedIndex), the one watches compare with waitIndex.
func (e *Event) Index() uint64 { return e.Node.ModifiedIndex }

// IsCreated reports whether a set or create made a node where there was
// none: the HTTP status is 201 then, 200 otherwise.
func (e *Event) IsCreated() bool {
	switch e.Action {
	case ActionCreate:
		return true
	case ActionSet:
		return e.PrevNode == nil
	}
	return false
}
