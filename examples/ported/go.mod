module github.com/a60656ec/websocket/examples/ported

go 1.25.0

replace github.com/a60656ec/websocket => ../..
