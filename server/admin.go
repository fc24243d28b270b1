package server

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// intake hands a Gupshup callback to the relay.
func (s *Server) intake(c *gin.Context) {
	l := logOf(c)
	l.extra = s.opt.Intake.ServeIntake(c.Writer, c.Request, c.Param("app"))
}

// adminAuth requires the admin bearer token (compared in constant time).
func (s *Server) adminAuth(c *gin.Context) {
	got, _ := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if subtle.ConstantTimeCompare([]byte(got), []byte(s.opt.AdminToken)) != 1 {
		c.Data(http.StatusUnauthorized, jsonType, []byte(`{"error":"unauthorized"}`))
		c.Abort()
		return
	}
	c.Next()
}

// deadLetter is a dead letter as the admin API shows it: no body content.
type deadLetter struct {
	ID        uint64    `json:"id"`
	Tenant    string    `json:"tenant"`
	Key       string    `json:"key"`
	Created   time.Time `json:"created"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
	Bytes     int       `json:"bytes"`
}

// listDeadLetters serves GET /admin/deadletters?limit=N (default 100).
func (s *Server) listDeadLetters(c *gin.Context) {
	limit := 100
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			c.Data(http.StatusBadRequest, jsonType, []byte(`{"error":"limit must be a positive integer"}`))
			return
		}
		limit = n
	}
	evs, err := s.opt.DeadLetters.DeadLetters(c.Request.Context(), limit)
	if err != nil {
		logOf(c).err = "store: " + err.Error()
		c.Data(http.StatusServiceUnavailable, jsonType, []byte(`{"error":"store unavailable"}`))
		return
	}
	out := make([]deadLetter, len(evs))
	for i, e := range evs {
		out[i] = deadLetter{ID: e.ID, Tenant: e.Tenant, Key: e.Key, Created: e.Created.UTC(),
			Attempts: e.Attempts, LastError: e.LastError, Bytes: len(e.Body)}
	}
	c.JSON(http.StatusOK, gin.H{"data": out})
}

// maxReplayBody caps the body of a dead-letter replay (a list of ids).
const maxReplayBody = 1 << 20

// replayDeadLetters serves POST /admin/deadletters/replay with an optional
// body {"ids":[…]} (none: all), queueing them for delivery now.
func (s *Server) replayDeadLetters(c *gin.Context) {
	var req struct {
		IDs []uint64 `json:"ids"`
	}
	raw, err := io.ReadAll(io.LimitReader(c.Request.Body, maxReplayBody))
	if err == nil && len(strings.TrimSpace(string(raw))) > 0 {
		err = json.Unmarshal(raw, &req)
	}
	if err != nil {
		c.Data(http.StatusBadRequest, jsonType, []byte(`{"error":"body must be {\"ids\":[…]} or empty"}`))
		return
	}
	n, err := s.opt.DeadLetters.Replay(c.Request.Context(), req.IDs, s.opt.ReplayNow())
	if err != nil {
		logOf(c).err = "store: " + err.Error()
		c.Data(http.StatusServiceUnavailable, jsonType, []byte(`{"error":"store unavailable"}`))
		return
	}
	c.JSON(http.StatusOK, gin.H{"replayed": n})
}
