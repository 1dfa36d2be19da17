package kv

import "fmt"

// The write operations. Each runs under the store's write lock, uses at most
// one index, and counts itself in the statistics exactly as etcd 2.3.8 does,
// oddities included: some failures of update, compare-and-swap, delete and
// compare-and-delete are counted as successes there (etcd returns those
// errors without recording them), and a create that meets a file on its way
// counts a setsFail besides its createFail. Each case is marked below.

// set creates or replaces the node at p (PUT without conditions).
func (s *Store) set(p string, dir bool, value string, refresh bool, deadline, t int64) (e *Event, err *Error) {
	defer func() { s.stats.count(statSetSuccess, err == nil) }()
	p = cleanPath(p)
	n, code, cause := s.find(p)
	if code == EcodeNotDir || code != 0 && refresh {
		return nil, NewError(code, cause, s.index)
	}
	if refresh {
		// A refresh keeps the value but, through set, recreates the node.
		value = n.value
	}
	e, err = s.put(p, dir, value, false, true, deadline, ActionSet, t)
	if err != nil {
		return nil, err
	}
	s.record(e, refresh)
	return e, nil
}

// create makes a node that must not exist yet (PUT prevExist=false), or,
// when unique, a new child of p named after the new index (POST).
func (s *Store) create(p string, dir bool, value string, unique bool, deadline, t int64) (e *Event, err *Error) {
	defer func() { s.stats.count(statCreateSuccess, err == nil) }()
	e, err = s.put(p, dir, value, unique, false, deadline, ActionCreate, t)
	if err != nil {
		return nil, err
	}
	s.record(e, false)
	return e, nil
}

// put makes a file or directory at p, creating the missing directories on
// the way (permanent, made at the new index). An existing file is replaced
// when replace is set (set); an existing directory never is.
func (s *Store) put(p string, dir bool, value string, unique, replace bool, deadline int64, action string, t int64) (*Event, *Error) {
	next := s.index + 1
	if unique {
		p += "/" + inOrderName(next)
	}
	p = cleanPath(p)
	if isReadOnly(p) {
		return nil, NewError(EcodeRootROnly, "/", s.index)
	}
	dirPath, name := splitPath(p)
	d, dirHash, err := s.mkdirAll(dirPath, next)
	if err != nil {
		s.stats.inc(statSetFail) // etcd counts this failure twice
		return nil, err
	}
	ph := childPathHash(dirHash, name)
	var prev *Node
	n := d.children[name]
	if n != nil {
		if !replace {
			return nil, NewError(EcodeNodeExist, p, s.index)
		}
		if n.dir {
			return nil, NewError(EcodeNotFile, p, s.index)
		}
		r := n.repr(p)
		prev = &r
		s.sum -= hashNode(ph, n)
		// The file is replaced by a new node. Reusing its struct is the
		// same to every observer and spares an allocation and a map write.
		*n = node{ttl: n.ttl}
	} else {
		n = &node{}
		d.addChild(name, n)
		s.nodes++
	}
	n.dir = dir
	if !dir {
		n.value = value
	}
	n.created, n.modified = next, next
	s.setTTL(n, p, deadline, next)
	s.sum += hashNode(ph, n)
	s.index = next
	return &Event{
		Action:    action,
		Node:      n.repr(p),
		PrevNode:  prev,
		EtcdIndex: next,
		time:      t,
	}, nil
}

// inOrderName is the name of an in-order key: the index in decimal,
// zero-padded to 20 digits (the width of the largest uint64).
func inOrderName(index uint64) string { return fmt.Sprintf("%020d", index) }

// mkdirAll returns the directory at the clean path p and the running hash
// of its path, making the missing ones at index; a file on the way is error
// 104 naming it.
func (s *Store) mkdirAll(p string, index uint64) (*node, uint64, *Error) {
	n, h := s.root, uint64(rootPathHash)
	for i := 1; i < len(p); {
		name, next := segment(p, i)
		h = childPathHash(h, name)
		c := n.children[name]
		switch {
		case c == nil:
			c = newDir(index)
			n.addChild(name, c)
			s.sum += hashNode(h, c)
			s.nodes++
		case !c.dir:
			return nil, 0, NewError(EcodeNotDir, p[:next-1], s.index)
		}
		n = c
		i = next
	}
	return n, h, nil
}

// update changes the value (files) and the TTL of an existing node (PUT
// prevExist=true). No TTL makes the node permanent.
func (s *Store) update(p string, value string, refresh bool, deadline, t int64) (e *Event, err *Error) {
	failed := false
	defer func() { s.stats.count(statUpdateSuccess, !failed) }()
	p = cleanPath(p)
	if isReadOnly(p) {
		return nil, NewError(EcodeRootROnly, "/", s.index) // counted as a success
	}
	n, err := s.lookup(p)
	if err != nil {
		failed = true
		return nil, err
	}
	if n.dir && value != "" {
		return nil, NewError(EcodeNotFile, p, s.index) // counted as a success
	}
	if refresh {
		value = n.value
	}
	next := s.index + 1
	prev := n.repr(p)
	ph := pathHash(p)
	s.sum -= hashNode(ph, n)
	if !n.dir {
		n.value = value
		// A directory keeps its modifiedIndex, although the event shows
		// the new one (etcd 2.3 quirk, spec §3.10.4).
		n.modified = next
	}
	s.setTTL(n, p, deadline, next)
	s.sum += hashNode(ph, n)
	s.index = next
	e = &Event{
		Action: ActionUpdate,
		Node: Node{
			Key:           p,
			Value:         value,
			Dir:           n.dir,
			Expiration:    n.expiration(),
			ModifiedIndex: next,
			CreatedIndex:  n.created,
		},
		PrevNode:  &prev,
		EtcdIndex: next,
		time:      t,
	}
	s.record(e, refresh)
	return e, nil
}

// compareAndSwap replaces the value and TTL of a file whose value and
// modifiedIndex match the conditions ("" and 0 are not checked).
func (s *Store) compareAndSwap(p, prevValue string, prevIndex uint64, value string, refresh bool, deadline, t int64) (e *Event, err *Error) {
	failed := false
	defer func() { s.stats.count(statCompareAndSwapSuccess, !failed) }()
	p = cleanPath(p)
	if isReadOnly(p) {
		return nil, NewError(EcodeRootROnly, "/", s.index) // counted as a success
	}
	failed = true
	n, err := s.lookup(p)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return nil, NewError(EcodeNotFile, p, s.index)
	}
	if err := compare(n, prevValue, prevIndex, s.index); err != nil {
		return nil, err
	}
	failed = false
	if refresh {
		value = n.value
	}
	s.index++
	prev := n.repr(p)
	ph := pathHash(p)
	s.sum -= hashNode(ph, n)
	n.value = value
	n.modified = s.index
	s.setTTL(n, p, deadline, s.index)
	s.sum += hashNode(ph, n)
	e = &Event{
		Action:    ActionCompareAndSwap,
		Node:      n.repr(p),
		PrevNode:  &prev,
		EtcdIndex: s.index,
		time:      t,
	}
	s.record(e, refresh)
	return e, nil
}

// compare checks the conditions of a compare-and-swap or -delete on file n
// and returns error 101 with etcd's cause when they fail.
func compare(n *node, prevValue string, prevIndex, index uint64) *Error {
	valueOK := prevValue == "" || n.value == prevValue
	indexOK := prevIndex == 0 || n.modified == prevIndex
	var cause string
	switch {
	case valueOK && indexOK:
		return nil
	case indexOK:
		cause = fmt.Sprintf("[%s != %s]", prevValue, n.value)
	case valueOK:
		cause = fmt.Sprintf("[%d != %d]", prevIndex, n.modified)
	default:
		cause = fmt.Sprintf("[%s != %s] [%d != %d]", prevValue, n.value, prevIndex, n.modified)
	}
	return NewError(EcodeTestFailed, cause, index)
}

// delete removes a file, or a directory when dir is set (recursive implies
// dir), with everything below it when recursive is set.
func (s *Store) delete(p string, dir, recursive bool, t int64) (e *Event, err *Error) {
	failed := false
	defer func() { s.stats.count(statDeleteSuccess, !failed) }()
	p = cleanPath(p)
	if isReadOnly(p) {
		return nil, NewError(EcodeRootROnly, "/", s.index) // counted as a success
	}
	failed = true
	dir = dir || recursive
	n, err := s.lookup(p)
	if err != nil {
		return nil, err
	}
	if n.dir {
		if !dir {
			return nil, NewError(EcodeNotFile, p, s.index)
		}
		if len(n.children) > 0 && !recursive {
			return nil, NewError(EcodeDirNotEmpty, p, s.index)
		}
	}
	failed = false
	s.index++
	prev := n.repr(p)
	e = &Event{
		Action: ActionDelete,
		Node: Node{
			Key:           p,
			NoValue:       true,
			Dir:           n.dir,
			ModifiedIndex: s.index,
			CreatedIndex:  n.created,
		},
		PrevNode:  &prev,
		EtcdIndex: s.index,
		time:      t,
	}
	s.remove(p, n, e)
	s.record(e, false)
	return e, nil
}

// compareAndDelete removes a file whose value and modifiedIndex match the
// conditions.
func (s *Store) compareAndDelete(p, prevValue string, prevIndex uint64, t int64) (e *Event, err *Error) {
	failed := false
	defer func() { s.stats.count(statCompareAndDeleteSuccess, !failed) }()
	p = cleanPath(p) // no read-only check: the root is a directory, so 102
	n, err := s.lookup(p)
	if err != nil {
		failed = true
		return nil, err
	}
	if n.dir {
		return nil, NewError(EcodeNotFile, p, s.index) // counted as a success
	}
	if err := compare(n, prevValue, prevIndex, s.index); err != nil {
		return nil, err // counted as a success
	}
	s.index++
	prev := n.repr(p)
	e = &Event{
		Action:    ActionCompareAndDelete,
		Node:      Node{Key: p, NoValue: true, ModifiedIndex: s.index, CreatedIndex: n.created},
		PrevNode:  &prev,
		EtcdIndex: s.index,
		time:      t,
	}
	s.remove(p, n, e)
	s.record(e, false)
	return e, nil
}

// expire removes every node whose deadline is at or before now, earliest
// first, each with its own index and expire event (a directory goes with
// everything below it, in one event).
func (s *Store) expire(now int64) {
	for {
		top := s.ttl.top()
		if top == nil || top.deadline > now {
			return
		}
		n, p := top.n, top.path
		s.index++
		prev := n.repr(p)
		e := &Event{
			Action: ActionExpire,
			// etcd 2.3 shows no "dir" here even for a directory (3.2+ does).
			Node:      Node{Key: p, NoValue: true, ModifiedIndex: s.index, CreatedIndex: n.created},
			PrevNode:  &prev,
			EtcdIndex: s.index,
			time:      now,
		}
		s.remove(p, n, e)
		s.stats.inc(statExpireCount)
		s.record(e, false)
	}
}

// remove takes node n away from p with everything below it: drops their
// TTLs and hashes and tells the watchers of every removed node about e.
func (s *Store) remove(p string, n *node, e *Event) {
	dirPath, name := splitPath(p)
	parent, _ := s.lookup(dirPath)
	delete(parent.children, name)
	if len(parent.children) == 0 {
		parent.children = nil // let an emptied directory's map go
	}
	s.forget(n, pathHash(p))
	s.hub.mu.Lock()
	if s.hub.count > 0 {
		s.hub.notifyRemoved(p, n, e)
	}
	s.hub.mu.Unlock()
}

// forget takes the hashes of n (whose path has the running hash ph) and of
// everything below it out of the store's sum, and their TTLs out of the
// heap.
func (s *Store) forget(n *node, ph uint64) {
	s.sum -= hashNode(ph, n)
	s.nodes--
	if n.ttl != nil {
		s.ttl.remove(n.ttl)
		n.ttl = nil
	}
	for name, c := range n.children {
		s.forget(c, childPathHash(ph, name))
	}
}

// record adds e to the history and delivers it to the watchers. A refresh
// is only recorded: it never wakes a watcher (spec §3.12).
func (s *Store) record(e *Event, refresh bool) {
	e.Refresh = refresh
	s.history.add(e)
	if refresh {
		return
	}
	s.hub.mu.Lock()
	if s.hub.count > 0 {
		s.hub.notifyAncestors(e)
	}
	s.hub.mu.Unlock()
}
