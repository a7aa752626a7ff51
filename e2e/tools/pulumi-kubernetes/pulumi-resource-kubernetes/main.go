// pulumi-resource-kubernetes: the Kubernetes provider, started the way the provider's own
// cmd/pulumi-resource-kubernetes/main.go:34-36@v4.25.0 starts it: provider.Serve with the
// provider's name, its version stamp, and the two files the release build generates before
// compiling (build.toml). A main package of ours because those two files are not in the module
// the proxy serves, and Go refuses to overlay files in the module cache; everything it runs is
// the provider module at the commit of tag v4.25.0.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

// The provider's schema with the release's version stamped in (generate.go, run by make tools).
//
//go:embed schema-embed.json
var pulumiSchema []byte

// The provider's Terraform mapping, re-serialized by the same generator.
//
//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
