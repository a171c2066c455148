package wsotel

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/a60656ec/websocket"
)

// The attributes of the data points. Where OpenTelemetry's semantic
// conventions have a name (the direction of traffic, an HTTP status), it
// is theirs; the rest are in a websocket namespace of our own.
const (
	directionKey  = attribute.Key("network.io.direction") // "receive" or "transmit"
	statusKey     = attribute.Key("http.response.status_code")
	reasonKey     = attribute.Key("websocket.refusal.reason")
	codeKey       = attribute.Key("websocket.close.code")
	cleanKey      = attribute.Key("websocket.close.clean")
	initiatorKey  = attribute.Key("websocket.close.initiator") // "local" or "peer"
	causeKey      = attribute.Key("websocket.close.cause")
	receiveValue  = "receive"
	transmitValue = "transmit"
)

// The direction attributes, made once: they are the same at every
// collection.
var (
	receiving    = metric.WithAttributeSet(attribute.NewSet(directionKey.String(receiveValue)))
	transmitting = metric.WithAttributeSet(attribute.NewSet(directionKey.String(transmitValue)))
)

// endingAttributes are the attributes of an Ending.
func endingAttributes(e websocket.Ending) metric.MeasurementOption {
	return metric.WithAttributes(
		codeKey.Int(int(e.Code)),
		cleanKey.Bool(e.Clean),
		initiatorKey.String(e.Initiator.String()),
		causeKey.String(string(e.Cause)),
	)
}

// refusalAttributes are the attributes of a Refusal.
func refusalAttributes(r websocket.Refusal) metric.MeasurementOption {
	return metric.WithAttributes(statusKey.Int(r.Status), reasonKey.String(r.Reason))
}
