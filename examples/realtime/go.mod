module github.com/gatehouse-auth/gatehouse/examples/realtime

go 1.26.0

require github.com/gatehouse-auth/gatehouse v0.0.0

require github.com/coder/websocket v1.8.15

replace github.com/gatehouse-auth/gatehouse => ../..
