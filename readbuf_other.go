//go:build !unix

package websocket

import (
	"errors"
	"syscall"
)

// readSocket is not used where the raw read path is off.
func readSocket(uintptr, []byte) (int, error) { return 0, errors.ErrUnsupported }

// rawConnOf turns the raw read path off: buffers are held while waiting.
func rawConnOf(stream) syscall.RawConn { return nil }
