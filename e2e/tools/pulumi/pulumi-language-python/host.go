package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// userActionableExit is the shim's exit code after it has shown the user a message itself
// (PYTHON_PROCESS_EXITED_AFTER_SHOWING_USER_ACTIONABLE_MESSAGE_CODE in the shim): the engine
// must then bail without adding an error of its own.
const userActionableExit = 32

// host serves the LanguageRuntime service. Methods it does not implement answer Unimplemented
// (the embedded server), which the CLI reports by the method's name.
type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	shim string

	mu            sync.Mutex
	engineAddress string

	// cancelled by the Cancel RPC: every program and plugin this host started is interrupted.
	cancelCtx context.Context
	cancel    context.CancelFunc
}

func newHost(shim, engineAddress string) *host {
	ctx, cancel := context.WithCancel(context.Background())
	return &host{shim: shim, engineAddress: engineAddress, cancelCtx: ctx, cancel: cancel}
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

// Handshake is how a newer engine tells the host its address when it did not pass it as an
// argument.
func (h *host) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	h.engineAddress = req.GetEngineAddress()
	h.mu.Unlock()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: hostVersion}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancel()
	return &emptypb.Empty{}, nil
}

// pythonToolchain resolves upstream's toolchain for a program or plugin folder from its
// runtime options.
func pythonToolchain(info *pulumirpc.ProgramInfo, isPlugin bool) (toolchain.Toolchain, error) {
	opts, err := parseOptions(info, isPlugin)
	if err != nil {
		return nil, err
	}
	return toolchain.ResolveToolchain(opts)
}

func (h *host) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	tc, err := pythonToolchain(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	packages, err := requiredPackages(ctx, tc)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

// GetRequiredPlugins is the older form of GetRequiredPackages that some engine paths still call.
func (h *host) GetRequiredPlugins(
	ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	tc, err := pythonToolchain(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	packages, err := requiredPackages(ctx, tc)
	if err != nil {
		return nil, err
	}
	plugins := make([]*pulumirpc.PluginDependency, 0, len(packages))
	for _, pkg := range packages {
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Name: pkg.GetName(), Kind: pkg.GetKind(), Version: pkg.GetVersion(), Server: pkg.GetServer(),
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// Run runs a Python program through the shim in the program's virtual environment.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	tc, err := pythonToolchain(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(h.cancelCtx)
	defer stop()
	context.AfterFunc(ctx, stop)

	cmd, err := tc.Command(runCtx, append([]string{h.shim}, shimArguments(req, h.engine())...)...)
	if err != nil {
		return nil, err
	}
	env, err := configEnvironment(req)
	if err != nil {
		return nil, err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, env...)
	// The engine shows the program's output as the host's own.
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	interruptOnCancel(cmd)

	if err := cmd.Run(); err != nil {
		var exited *exec.ExitError
		if errors.As(err, &exited) {
			if exited.ExitCode() == userActionableExit {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("program exited with non-zero exit code: %d", exited.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run %s: %v", h.shim, err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// shimArguments is the shim's command line (its argparse options) for a run request.
func shimArguments(req *pulumirpc.RunRequest, engineAddress string) []string {
	var args []string
	option := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	option("monitor", req.GetMonitorAddress())
	option("engine", engineAddress)
	option("project", req.GetProject())
	option("root_directory", req.GetInfo().GetRootDirectory())
	option("stack", req.GetStack())
	option("pwd", req.GetPwd())
	option("dry_run", strconv.FormatBool(req.GetDryRun()))
	option("parallel", strconv.Itoa(int(req.GetParallel())))
	option("organization", req.GetOrganization())
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	return append(args, req.GetArgs()...)
}

// configEnvironment hands the stack's configuration to the shim, which reads it with
// pulumi.runtime.get_config_env() and get_config_secret_keys_env().
func configEnvironment(req *pulumirpc.RunRequest) ([]string, error) {
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("cannot serialize the stack configuration: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("cannot serialize the secret configuration keys: %w", err)
	}
	return []string{
		"PULUMI_CONFIG=" + string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS=" + string(secretKeysJSON),
	}, nil
}

// interruptOnCancel sends SIGINT first, so the Python SDK can finish its outstanding RPCs, and
// kills only if the process is still there five seconds later.
func interruptOnCancel(cmd *exec.Cmd) {
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
}

// InstallDependencies creates the virtual environment and installs requirements.txt into it
// with upstream's toolchain (pip for this project: Pulumi.yaml and provider/PulumiPlugin.yaml).
func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	tc, err := pythonToolchain(req.GetInfo(), req.GetIsPlugin())
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	buildable, err := toolchain.IsBuildablePackage(req.GetInfo().GetProgramDirectory())
	if err != nil {
		return err
	}
	if req.GetIsPlugin() && buildable {
		return status.Error(codes.Unimplemented,
			"plugins built from a pyproject.toml are not supported by this host (a folder with __main__.py is)")
	}
	if err := tc.InstallDependencies(server.Context(), req.GetInfo().GetProgramDirectory(),
		req.GetUseLanguageVersionTools(), true, stdout, stderr); err != nil {
		return err
	}
	return closer.Close()
}

// RunPlugin runs a plugin folder's __main__.py with the plugin's virtual environment:
// `python <folder> <args>`, in the directory the engine names.
func (h *host) RunPlugin(
	req *pulumirpc.RunPluginRequest, server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	if req.GetKind() == "analyzer" {
		return status.Error(codes.Unimplemented, "policy packs are not run by this host")
	}
	info := req.GetInfo()
	if _, err := os.Stat(filepath.Join(info.GetProgramDirectory(), "__main__.py")); err != nil {
		return status.Errorf(codes.Unimplemented,
			"%s has no __main__.py; only folder plugins are supported by this host", info.GetProgramDirectory())
	}
	tc, err := pythonToolchain(info, true)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(h.cancelCtx)
	defer stop()
	context.AfterFunc(server.Context(), stop)
	cmd, err := tc.Command(ctx, append([]string{info.GetProgramDirectory()}, req.GetArgs()...)...)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	cmd.Dir = req.GetPwd()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	interruptOnCancel(cmd)
	if err := cmd.Run(); err != nil {
		var exited *exec.ExitError
		if errors.As(err, &exited) {
			if waitStatus, ok := exited.Sys().(syscall.WaitStatus); ok {
				return server.Send(&pulumirpc.RunPluginResponse{
					Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(waitStatus.ExitStatus())},
				})
			}
		}
		return fmt.Errorf("could not run the plugin in %s: %w", info.GetProgramDirectory(), err)
	}
	return closer.Close()
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	info := req.GetInfo()
	opts := toolchain.PythonOptions{Toolchain: toolchain.Pip}
	if info != nil {
		var err error
		if opts, err = parseOptions(info, false); err != nil {
			return nil, err
		}
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	about, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: about.PythonExecutable,
		Version:    about.PythonVersion.String(),
		Metadata: map[string]string{
			"host":             "openelb-ha e2e (docs/verification.md)",
			"toolchain":        toolchain.Name(opts.Toolchain),
			"toolchainVersion": about.ToolchainVersion.String(),
		},
	}, nil
}

func (h *host) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, err := pythonToolchain(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	listed, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	dependencies := make([]*pulumirpc.DependencyInfo, 0, len(listed))
	for _, dep := range listed {
		dependencies = append(dependencies, &pulumirpc.DependencyInfo{Name: dep.Name, Version: dep.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: dependencies}, nil
}
