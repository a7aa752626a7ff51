// pulumi-language-python: a minimal Python language host of the openelb-ha project's own.
//
// Why it exists: the Go module proxy refuses Pulumi's own Python language host
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3: "403 Forbidden ... This
// module version is not available"), and the Pulumi CLI needs a process serving the
// LanguageRuntime gRPC service to run a Python program or a Python component package. This is
// that process, and nothing more: every piece of Python handling is upstream's.
//
//   - Programs run through upstream's exec shim, python/cmd/pulumi-language-python-exec of
//     github.com/pulumi/pulumi/sdk/v3@v3.276.0, shipped beside this binary (build.toml), exactly
//     as the release ships it beside its host; the shim configures the Python SDK and runs the
//     program with runpy.
//   - Virtual environments, pip and package listing are upstream's Go package
//     github.com/pulumi/pulumi/sdk/v3/python/toolchain (the same code the release host uses).
//   - Plugins (a folder with PulumiPlugin.yaml and __main__.py, like the project's provider/) run
//     as `python <folder> <args>` in the plugin's virtual environment.
//
// What is ours: the gRPC glue below (options parsing, the shim's command line, the config
// environment variables, exit codes, the pulumi-plugin.json scan). docs/verification.md lists
// what it implements and what it does not (code generation, Link, Pack, templates, typecheckers,
// debugging, uv/poetry are upstream-only paths we do not exercise).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// hostVersion names this host as ours: the SDK release it is built against plus our tag.
const hostVersion = "3.276.0+openelb-ha"

// execShim is the file name upstream gives its exec shim; build.toml ships it beside us.
const execShim = "pulumi-language-python-exec"

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	// The engine passes these to every language host; tracing is accepted and ignored.
	_ = flag.String("tracing", "", "ignored: this host emits no traces")
	// Engines of sdk/v3 before the runtime options moved into ProgramInfo (the YAML host
	// v1.25.0 is built on v3.206.0) start a language host with each option as a flag and the
	// project root: sdk/go/common/resource/plugin/langruntime_plugin.go:209-226@v3.206.0.
	// They are the defaults for a request that carries no options of its own.
	for _, name := range []string{"virtualenv", "toolchain", "typechecker"} {
		flagOptions[name] = flag.String(name, "", "runtime option "+name+" (older engines)")
	}
	_ = flag.String("root", "", "ignored: every request names its root (older engines pass it)")
	flag.Parse()
	if *showVersion {
		fmt.Println(hostVersion)
		return
	}
	logging.InitLogging(false, 0, false)

	self, err := os.Executable()
	if err != nil {
		cmdutil.Exit(fmt.Errorf("cannot find this executable: %w", err))
	}
	shim := filepath.Join(filepath.Dir(self), execShim)
	if _, err := os.Stat(shim); err != nil {
		cmdutil.Exit(fmt.Errorf("missing %s beside the language host (make tools ships it): %w", execShim, err))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cancel := make(chan bool)
	go func() {
		<-ctx.Done()
		close(cancel)
	}()

	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
		// Exit when the engine goes away, as every plugin must.
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("cannot watch the engine at %s: %w", engineAddress, err))
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, newHost(shim, engineAddress))
			return nil
		},
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("cannot serve the language runtime: %w", err))
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil && !errors.Is(err, context.Canceled) {
		cmdutil.Exit(fmt.Errorf("language runtime stopped: %w", err))
	}
}
