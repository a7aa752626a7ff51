package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
)

// pluginScan prints, as JSON, every installed distribution that ships a pulumi-plugin.json
// (the file a generated Pulumi SDK carries to name its resource plugin), with the file's
// content. It runs in the program's virtual environment.
const pluginScan = `import importlib.metadata, json, sys
found = []
for dist in importlib.metadata.distributions():
    for file in dist.files or ():
        if file.name == "pulumi-plugin.json":
            found.append({"distribution": dist.metadata["Name"], "version": dist.version,
                          "plugin": json.loads(file.read_text())})
            break
json.dump(found, sys.stdout)
`

type scanned struct {
	Distribution string `json:"distribution"`
	Version      string `json:"version"`
	Plugin       struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"plugin"`
}

// plainVersion is the only PEP 440 form turned into a plugin version without a pulumi-plugin.json
// version: N.N.N. Anything else is left out, and the package is then not reported.
var plainVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// requiredPackages is the resource plugins the program's Python packages need: one per
// distribution whose pulumi-plugin.json says `"resource": true`.
func requiredPackages(ctx context.Context, tc toolchain.Toolchain) ([]*pulumirpc.PackageDependency, error) {
	cmd, err := tc.Command(ctx, "-c", pluginScan)
	if err != nil {
		return nil, err
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the Pulumi packages of the virtual environment: %w", err)
	}
	var found []scanned
	if err := json.Unmarshal(out, &found); err != nil {
		return nil, fmt.Errorf("reading the list of Pulumi packages: %w", err)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Distribution < found[j].Distribution })
	var packages []*pulumirpc.PackageDependency
	for _, dist := range found {
		if !dist.Plugin.Resource {
			continue
		}
		name := dist.Plugin.Name
		if name == "" {
			name = strings.TrimPrefix(dist.Distribution, "pulumi-")
		}
		version := dist.Plugin.Version
		if version == "" {
			if !plainVersion.MatchString(dist.Version) {
				continue
			}
			version = dist.Version
		}
		if !strings.HasPrefix(version, "v") {
			version = "v" + version
		}
		packages = append(packages, &pulumirpc.PackageDependency{
			Name: name, Kind: "resource", Version: version, Server: dist.Plugin.Server,
		})
	}
	return packages, nil
}
