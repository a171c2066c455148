package websocket

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJSON: values go both ways as text messages; a value that does not
// encode sends nothing; a message that is not JSON, or is empty, fails
// the read and leaves the connection open.
func TestJSON(t *testing.T) {
	type quote struct {
		Symbol string  `json:"symbol"`
		Price  float64 `json:"price"`
	}
	client, server := dialPair(t, nil, nil)
	require.NoError(t, server.WriteJSON(quote{"ACME", 101.25}))
	typ, raw, err := client.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, TextMessage, typ)
	assert.Equal(t, "{\"symbol\":\"ACME\",\"price\":101.25}\n", string(raw))

	require.NoError(t, client.WriteJSON(quote{"XYZ", 7}))
	var q quote
	require.NoError(t, server.ReadJSON(&q))
	assert.Equal(t, quote{"XYZ", 7}, q)

	err = server.WriteJSON(make(chan int))
	require.Error(t, err, "a channel does not encode")
	require.NoError(t, server.WriteJSON(quote{"NEXT", 1}))
	_, raw, err = client.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "{\"symbol\":\"NEXT\",\"price\":1}\n", string(raw), "nothing went out for the value that failed")

	require.NoError(t, client.WriteMessage(TextMessage, []byte("not json")))
	require.NoError(t, client.WriteMessage(BinaryMessage, nil))
	require.NoError(t, client.WriteMessage(BinaryMessage, []byte(`{"symbol":"BIN","price":2} and more`)))
	assert.Error(t, server.ReadJSON(&q))
	assert.ErrorIs(t, server.ReadJSON(&q), io.ErrUnexpectedEOF)
	require.NoError(t, server.ReadJSON(&q), "the first value of a binary message; the rest is dropped")
	assert.Equal(t, quote{"BIN", 2}, q)
}
