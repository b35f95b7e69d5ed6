package browser

import (
	"context"

	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "rewrite the page screenshots in docs/img")

// screenshotDir is where -update-screenshots writes.
const screenshotDir = repoRoot + "/docs/img"

// chromium returns the browser to drive, or skips the test loudly (fails
// it under CI=true) when there is none.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GATEHOUSE_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (set GATEHOUSE_CHROMIUM, or on Debian: apt-get install chromium): the real-browser suite did NOT run"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	fmt.Fprintf(os.Stderr, "\n!!! SKIPPING %s: %s\n\n", t.Name(), msg)
	t.Skip("!!! " + msg)
	return ""
}

// viewport is a screen the pages are checked at.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var viewports = []viewport{
	{name: "desktop", width: 1024, height: 720},
	{name: "mobile", width: 390, height: 844, mobile: true},
}

// tab is one headless Chromium, with a fresh profile, at a viewport.
type tab struct {
	t   *testing.T
	ctx context.Context
	vp  viewport
}

// newTab starts Chromium with a fresh profile (no cookies, no cache),
// with extra options after the suite's own (a User-Agent, say).
func newTab(t *testing.T, vp viewport, extra ...chromedp.ExecAllocatorOption) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	emulate := []chromedp.EmulateViewportOption{}
	if vp.mobile {
		emulate = append(emulate, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	// The first action starts the browser, which lives as long as the
	// context of that action: ctx itself, not one with a deadline.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height, emulate...)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return &tab{t: t, ctx: ctx, vp: vp}
}

// do runs actions with a deadline, failing the test on error.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %s: %v\npage: %s", b.vp.name, what, err, b.describe())
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](b *tab, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// describe is the current page, for failure messages.
func (b *tab) describe() string {
	s, err := eval[string](b, `location.href + " (HTTP " + (performance.getEntriesByType("navigation")[0]?.responseStatus) + "): " + document.body.innerText`)
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return s
}

func (b *tab) navigate(url string) { b.t.Helper(); b.do("navigate to "+url, chromedp.Navigate(url)) }

// waitFor waits until the page at origin+path (path without query) has
// loaded and has an element matching sel.
func (b *tab) waitFor(origin, path, sel string) {
	b.t.Helper()
	want := origin + path
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := eval[bool](b, fmt.Sprintf(`document.readyState === "complete" && location.origin + location.pathname === %q && document.querySelector(%q) !== null`, want, sel))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: waiting for %s with %s: %v\npage: %s", b.vp.name, want, sel, err, b.describe())
		}
		waitABit()
	}
}

// status is the HTTP status of the current page.
func (b *tab) status() int {
	b.t.Helper()
	n, err := eval[int](b, `performance.getEntriesByType("navigation")[0].responseStatus`)
	if err != nil {
		b.t.Fatalf("%s: status: %v", b.vp.name, err)
	}
	return n
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := eval[string](b, fmt.Sprintf(`document.querySelector(%q)?.innerText ?? ""`, sel))
	if err != nil {
		b.t.Fatalf("%s: text of %s: %v", b.vp.name, sel, err)
	}
	return s
}

func (b *tab) value(sel string) string {
	b.t.Helper()
	s, err := eval[string](b, fmt.Sprintf(`document.querySelector(%q)?.value ?? ""`, sel))
	if err != nil {
		b.t.Fatalf("%s: value of %s: %v", b.vp.name, sel, err)
	}
	return s
}

func (b *tab) typeInto(sel, text string) {
	b.t.Helper()
	if _, err := eval[bool](b, fmt.Sprintf(`(document.querySelector(%q).value = "") === ""`, sel)); err != nil {
		b.t.Fatalf("%s: clear %s: %v", b.vp.name, sel, err)
	}
	b.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

func (b *tab) click(sel string) { b.t.Helper(); b.do("click "+sel, chromedp.Click(chromedp.CSS(sel))) }

// page checks a Gatehouse page: its layout fits the viewport with side
// margins, and it is saved as docs/img/page-<name>-<viewport>.png with
// -update-screenshots.
func (b *tab) page(name string) {
	b.t.Helper()
	b.checkLayout(name)
	png, err := b.screenshot(chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("%s: screenshot of %s: %v", b.vp.name, name, err)
	}
	b.save("page-"+name+"-"+b.vp.name+".png", png)
}

// screenshot captures the page with a deadline. Headless Chromium can
// stall Page.captureScreenshot for minutes when its compositor has gone
// idle (chromedp#1339; it hung CI's browser suite past go test's 10
// minutes): after a stalled attempt a short screencast wakes the
// compositor up and the capture is tried again, up to three times.
func (b *tab) screenshot(shot chromedp.Action[[]byte]) ([]byte, error) {
	var lastErr error
	for attempt := range 3 {
		if attempt > 0 {
			b.wakeCompositor()
		}
		ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
		png, err := chromedp.Run(ctx, shot)
		cancel()
		if err == nil {
			return png, nil
		}
		lastErr = err
		if b.ctx.Err() != nil {
			break
		}
		b.t.Logf("%s: screenshot attempt %d: %v; waking the compositor", b.vp.name, attempt+1, err)
	}
	return nil, fmt.Errorf("three attempts: %w", lastErr)
}

// wakeCompositor makes Chromium paint: a screencast of one small frame.
func (b *tab) wakeCompositor() {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	quality := int64(10)
	_ = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, page.StartScreencast, page.StartScreencastParams{Format: page.StartScreencastFormatJpeg, Quality: &quality, MaxWidth: 64, MaxHeight: 64}); err != nil {
			return err
		}
		time.Sleep(250 * time.Millisecond)
		_, err := cdp.Call(ctx, t, page.StopScreencast, cdp.Empty{})
		return err
	}))
}

// save writes a screenshot to docs/img with -update-screenshots, else to
// a temporary directory.
func (b *tab) save(file string, png []byte) {
	b.t.Helper()
	dir := b.t.TempDir()
	if *updateScreenshots {
		dir = screenshotDir
	}
	if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// checkLayout checks that the page fits the viewport with side margins
// and links the icon.
func (b *tab) checkLayout(name string) {
	b.t.Helper()
	type box struct {
		ScrollWidth, InnerWidth float64
		Left, Right             float64
		Favicon                 bool
	}
	got, err := eval[box](b, `(() => { const m = document.querySelector("main").getBoundingClientRect();
		return {ScrollWidth: document.documentElement.scrollWidth, InnerWidth: window.innerWidth, Left: m.left, Right: window.innerWidth - m.right,
			Favicon: document.querySelector('link[rel="icon"]') !== null}; })()`)
	if err != nil {
		b.t.Fatalf("%s: %s: layout: %v\npage: %s", b.vp.name, name, err, b.describe())
	}
	if got.ScrollWidth > got.InnerWidth {
		b.t.Errorf("%s: %s scrolls sideways: %v px wide in a %v px viewport", b.vp.name, name, got.ScrollWidth, got.InnerWidth)
	}
	if got.Left < 8 || got.Right < 8 {
		b.t.Errorf("%s: %s: the card touches the screen's edge (left %v px, right %v px)", b.vp.name, name, got.Left, got.Right)
	}
	if !got.Favicon {
		b.t.Errorf("%s: %s links no icon", b.vp.name, name)
	}
}

// notExpired fails if the page is the "form expired" answer that every
// form POST got when the pages sent Referrer-Policy: no-referrer.
func (b *tab) notExpired(what string) {
	b.t.Helper()
	if body := b.describe(); strings.Contains(body, "expired") {
		b.t.Fatalf("%s: %s was refused as expired (Origin: null?): %s", b.vp.name, what, body)
	}
}

// currentOrigin is the origin of the page shown.
func (b *tab) currentOrigin() string {
	b.t.Helper()
	s, err := eval[string](b, `location.origin`)
	if err != nil {
		b.t.Fatalf("%s: location: %v", b.vp.name, err)
	}
	return s
}

// waitABit is the polling interval for pages that are loading.
func waitABit() { time.Sleep(50 * time.Millisecond) }
