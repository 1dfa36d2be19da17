package httpd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"v2etcd/peer"
)

const (
	membersPrefix = "/v2/members"
	membersAllow  = "GET,POST,DELETE,PUT"
)

// memberJSON is a member as /v2/members shows it (spec v2-api §6): the ID in
// hex, and both URL lists always present, never null.
type memberJSON struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	PeerURLs   []string `json:"peerURLs"`
	ClientURLs []string `json:"clientURLs"`
}

func newMemberJSON(m *peer.Member) memberJSON {
	j := memberJSON{ID: m.ID.String(), Name: m.Name, PeerURLs: m.PeerURLs.Strings(), ClientURLs: m.ClientURLs.Strings()}
	if j.PeerURLs == nil {
		j.PeerURLs = []string{}
	}
	if j.ClientURLs == nil {
		j.ClientURLs = []string{}
	}
	return j
}

// writeEncoded writes v as etcd's streaming encoder does: compact JSON
// followed by a newline.
func writeEncoded(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	json.NewEncoder(&b).Encode(v)
	writeJSON(w, status, b.Bytes())
}

// serveMembers answers the members API: list, leader, add, remove, update.
func (h *handler) serveMembers(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodPut:
	default:
		methodNotAllowed(w, membersAllow)
		return
	}
	h.received.With(r.Method).Inc()
	start := h.now()
	h.clusterIDHeader(w)
	status := h.membersOp(w, r)
	h.observe(r.Method, status, start)
}

// membersOp does the work of serveMembers and returns the status it sent.
func (h *handler) membersOp(w http.ResponseWriter, r *http.Request) int {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, membersPrefix), "/")
	switch r.Method {
	case http.MethodGet:
		switch rest {
		case "":
			ms := h.s.Members()
			list := make([]memberJSON, 0, len(ms))
			for _, m := range ms {
				list = append(list, newMemberJSON(m))
			}
			writeEncoded(w, http.StatusOK, struct {
				Members []memberJSON `json:"members"`
			}{list})
			return http.StatusOK
		case "leader":
			lead := h.s.Leader()
			for _, m := range h.s.Members() {
				if lead != 0 && m.ID == lead {
					writeEncoded(w, http.StatusOK, newMemberJSON(m))
					return http.StatusOK
				}
			}
			writeMessage(w, http.StatusServiceUnavailable, "During election")
			return http.StatusServiceUnavailable
		default:
			writeMessage(w, http.StatusNotFound, "Not found")
			return http.StatusNotFound
		}
	case http.MethodPost:
		urls, status := readPeerURLs(w, r)
		if status != 0 {
			return status
		}
		m, err := h.s.AddMember(r.Context(), urls)
		if err != nil {
			return h.writeMemberError(w, err, "")
		}
		writeEncoded(w, http.StatusCreated, newMemberJSON(m))
		return http.StatusCreated
	default: // DELETE and PUT name a member
		if rest == "" {
			methodNotAllowed(w, "") // no Allow header here, as etcd answers
			return http.StatusMethodNotAllowed
		}
		id, err := peer.ParseID(rest)
		if err != nil {
			writeMessage(w, http.StatusNotFound, "No such member: "+rest)
			return http.StatusNotFound
		}
		if r.Method == http.MethodDelete {
			err = h.s.RemoveMember(r.Context(), id)
		} else {
			urls, status := readPeerURLs(w, r)
			if status != 0 {
				return status
			}
			err = h.s.UpdateMember(r.Context(), id, urls)
		}
		if err != nil {
			return h.writeMemberError(w, err, id.String())
		}
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	}
}

// writeMemberError maps a membership error to etcd's answer.
func (h *handler) writeMemberError(w http.ResponseWriter, err error, id string) int {
	status, msg := http.StatusInternalServerError, "Internal Server Error"
	switch {
	case errors.Is(err, ErrMemberNotFound):
		status, msg = http.StatusNotFound, "No such member: "+id
	case errors.Is(err, ErrMemberRemoved):
		status, msg = http.StatusGone, "Member permanently removed: "+id
	case errors.Is(err, ErrIDExists):
		status, msg = http.StatusConflict, ErrIDExists.Error()
	case errors.Is(err, ErrPeerURLExists):
		status, msg = http.StatusConflict, ErrPeerURLExists.Error()
	default:
		h.log.Error("members API request failed", "err", err)
	}
	writeMessage(w, status, msg)
	return status
}

// maxMemberBody bounds the JSON body of a members request.
const maxMemberBody = 1 << 20

// readPeerURLs reads {"peerURLs":[...]} from a POST or PUT body. On failure
// it has answered (415 or 400) and returns that status.
func readPeerURLs(w http.ResponseWriter, r *http.Request) (peer.URLs, int) {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		// etcd 2.3 wants exactly application/json; like 3.1+ we also accept
		// parameters such as "; charset=utf-8".
		writeMessage(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Bad Content-Type %s, accept application/json", ct))
		return nil, http.StatusUnsupportedMediaType
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxMemberBody+1))
	if err == nil && len(body) > maxMemberBody {
		err = errors.New("request body too large")
	}
	var req struct {
		PeerURLs []string `json:"peerURLs"`
	}
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err == nil && len(req.PeerURLs) == 0 {
		err = errors.New("no valid URLs given")
	}
	var urls peer.URLs
	if err == nil {
		urls, err = peer.NewURLs(req.PeerURLs)
	}
	if err == nil && len(slices.Compact(urls.Strings())) != len(urls) {
		err = errors.New("duplicate URL in peerURLs")
	}
	if err != nil {
		writeMessage(w, http.StatusBadRequest, err.Error())
		return nil, http.StatusBadRequest
	}
	return urls, 0
}

// serveMachines answers /v2/machines: every member's client URLs, sorted and
// joined with ", ", as plain text.
func (h *handler) serveMachines(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET,HEAD")
		return
	}
	var urls []string
	for _, m := range h.s.Members() {
		urls = append(urls, m.ClientURLs.Strings()...)
	}
	slices.Sort(urls)
	w.Header()["Content-Type"] = textContentType
	if r.Method == http.MethodGet {
		io.WriteString(w, strings.Join(urls, ", "))
	}
}
