package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/coder/websocket"
)

// runClient connects to a chat with a bearer token, sends each line of
// standard input, prints what the room says, and returns how the server
// closed the socket.
func runClient(ctx context.Context, url, token string) error {
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		return fmt.Errorf("dial %s: %w", url, err)
	}
	defer conn.CloseNow()
	fmt.Fprintln(os.Stderr, "connected; type lines to send")
	go func() {
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			if err := conn.Write(ctx, websocket.MessageText, in.Bytes()); err != nil {
				return
			}
		}
	}()
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				fmt.Printf("closed by the server: %d %s\n", ce.Code, ce.Reason)
				return nil
			}
			return err
		}
		fmt.Printf("%s\n", msg)
	}
}
