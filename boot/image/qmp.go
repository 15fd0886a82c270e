package image

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// QMP is a client of QEMU's machine protocol (JSON lines on a unix
// socket): how `rayos image boot` asks the machine to power down on
// Ctrl+C, and how tests type keys and take screenshots.
type QMP struct {
	conn net.Conn
	r    *bufio.Reader
}

// DialQMP connects to a QMP socket and enters command mode, waiting up
// to timeout for QEMU to create the socket.
func DialQMP(path string, timeout time.Duration) (*QMP, error) {
	deadline := time.Now().Add(timeout)
	var conn net.Conn
	var err error
	for {
		conn, err = net.Dial("unix", path)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("qmp %s: %w", path, err)
	}
	q := &QMP{conn: conn, r: bufio.NewReader(conn)}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := q.r.ReadBytes('\n'); err != nil { // the greeting
		conn.Close()
		return nil, fmt.Errorf("qmp %s: greeting: %w", path, err)
	}
	if _, err := q.Do("qmp_capabilities", nil); err != nil {
		conn.Close()
		return nil, err
	}
	return q, nil
}

// Do runs one command and returns its "return" value; QEMU's error is
// returned as an error. Asynchronous events met on the way are skipped.
func (q *QMP) Do(command string, args any) (json.RawMessage, error) {
	req := map[string]any{"execute": command}
	if args != nil {
		req["arguments"] = args
	}
	b, _ := json.Marshal(req)
	q.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := q.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	for {
		line, err := q.r.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("qmp %s: %w", command, err)
		}
		var resp struct {
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Class string `json:"class"`
				Desc  string `json:"desc"`
			} `json:"error"`
			Event string `json:"event"`
		}
		if err := json.Unmarshal(line, &resp); err != nil {
			return nil, fmt.Errorf("qmp %s: reply %q: %w", command, line, err)
		}
		switch {
		case resp.Event != "":
			continue
		case resp.Error != nil:
			return nil, fmt.Errorf("qmp %s: %s: %s", command, resp.Error.Class, resp.Error.Desc)
		default:
			return resp.Return, nil
		}
	}
}

// SendKeys presses and releases keys together (QEMU qcodes: "a",
// "shift", "ret", "power"), as the keyboard would send them.
func (q *QMP) SendKeys(qcodes ...string) error {
	keys := make([]map[string]string, len(qcodes))
	for i, k := range qcodes {
		keys[i] = map[string]string{"type": "qcode", "data": k}
	}
	_, err := q.Do("send-key", map[string]any{"keys": keys})
	return err
}

// Screendump writes the display's current picture to path (PPM).
func (q *QMP) Screendump(path string) error {
	_, err := q.Do("screendump", map[string]any{"filename": path})
	return err
}

// PowerDown presses the machine's ACPI power button.
func (q *QMP) PowerDown() error {
	_, err := q.Do("system_powerdown", nil)
	return err
}

// Close closes the connection.
func (q *QMP) Close() error { return q.conn.Close() }
