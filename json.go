package websocket

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// WriteJSON sends v, encoded as JSON by encoding/json, as one text
// message, followed by a newline as json.Encoder writes it. The encoding
// goes into the message writer without a copy of it in between. A value
// that does not encode sends nothing (encoding/json checks the whole
// value before it writes) and returns the encoder's error. Other errors
// are those of NextWriter. Safe from any number of goroutines; see Conn.
func (c *Conn) WriteJSON(v any) error {
	w, err := c.NextWriter(TextMessage)
	if err != nil {
		return err
	}
	mw := w.(*messageWriter)
	if err := json.NewEncoder(mw).Encode(v); err != nil {
		mw.abandon()
		return fmt.Errorf("websocket: write JSON: %w", err)
	}
	return mw.Close()
}

// ReadJSON reads the next message, text or binary, and decodes its first
// JSON value into v with encoding/json, straight from the message's
// reader; the rest of the message is discarded. A message that is not
// JSON returns the decoder's error, and the connection stays open; an
// empty message returns io.ErrUnexpectedEOF. Errors of the connection are
// those of NextReader. One goroutine at a time may read; see Conn.
func (c *Conn) ReadJSON(v any) error {
	_, r, err := c.NextReader()
	if err != nil {
		return err
	}
	err = json.NewDecoder(r).Decode(v)
	if errors.Is(err, io.EOF) {
		// An empty message: no value in it, which is not the end of
		// anything but the message.
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("websocket: read JSON: %w", err)
	}
	return nil
}
