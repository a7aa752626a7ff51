// gobgp-v2: GoBGP 2.23.0's CLI, the version OpenELB 0.5.1 and 0.6.0 pin (go.mod:19@v0.5.1,
// go.mod:17@v0.6.0) and ship in their images as the readiness probe `gobgp -p 50051 global`
// (Makefile:74@v0.5.1, build/speaker/Dockerfile:11@v0.6.0). The real OpenELB speakers of
// `lab --openelb real` serve GoBGP 2's gRPC API, which Debian's gobgp 3 client does not speak.
module openelb-ha/e2e/tools/gobgp-v2

go 1.26.0

tool github.com/osrg/gobgp/cmd/gobgp

require (
	github.com/dgryski/go-farm v0.0.0-20171119141306-ac7624ea8da3 // indirect
	github.com/fsnotify/fsnotify v1.4.2 // indirect
	github.com/golang/protobuf v1.0.0 // indirect
	github.com/hashicorp/hcl v0.0.0-20170509225359-392dba7d905e // indirect
	github.com/inconshreveable/mousetrap v1.0.0 // indirect
	github.com/k-sone/critbitgo v1.3.1-0.20191024122315-48c9e1530131 // indirect
	github.com/magiconair/properties v1.7.3 // indirect
	github.com/mitchellh/mapstructure v0.0.0-20170523030023-d0303fe80992 // indirect
	github.com/osrg/gobgp v0.0.0-20210101133947-496b372f7b8d // indirect
	github.com/pelletier/go-buffruneio v0.2.0 // indirect
	github.com/pelletier/go-toml v1.0.0 // indirect
	github.com/sirupsen/logrus v0.0.0-20170713114250-a3f95b5c4235 // indirect
	github.com/spf13/afero v0.0.0-20170217164146-9be650865eab // indirect
	github.com/spf13/cast v1.1.0 // indirect
	github.com/spf13/cobra v0.0.0-20170731170427-b26b538f6930 // indirect
	github.com/spf13/jwalterweatherman v0.0.0-20170523133247-0efa5202c046 // indirect
	github.com/spf13/pflag v1.0.0 // indirect
	github.com/spf13/viper v1.0.0 // indirect
	github.com/vishvananda/netlink v0.0.0-20170802012344-a95659537721 // indirect
	github.com/vishvananda/netns v0.0.0-20170707011535-86bef332bfc3 // indirect
	golang.org/x/net v0.0.0-20200528225125-3c3fba18258b // indirect
	golang.org/x/sys v0.0.0-20200323222414-85ca7c5b95cd // indirect
	golang.org/x/text v0.3.2 // indirect
	google.golang.org/genproto v0.0.0-20170731182057-09f6ed296fc6 // indirect
	google.golang.org/grpc v1.5.1 // indirect
	gopkg.in/yaml.v2 v2.2.8 // indirect
)
