package guests_test

import (
	"fmt"
	"strings"

	"github.com/rayos/engine/guests"
)

// A registry entry and the policy's limits make the libvirt domain: caps
// applied, and no network interface unless the policy allows one.
func ExampleDomainXML() {
	reg, err := guests.ParseRegistry("registry.toml", `version = 1
[vm.linux]
os = "linux"
memory_mib = 4096
vcpus = 8
`)
	if err != nil {
		panic(err)
	}
	x, err := guests.DomainXML(guests.DomainSpec{
		ID: "linux", VM: reg.VMs["linux"], Dir: "/var/rayos/vm/linux",
		Limits: guests.Limits{Network: false, CPUs: 2, MemoryMiB: 1024},
	})
	if err != nil {
		panic(err)
	}
	for _, line := range strings.Split(x, "\n") {
		if strings.Contains(line, "<vcpu>") || strings.Contains(line, "<memory") || strings.Contains(line, "<name>") {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	fmt.Println("network interface:", strings.Contains(x, "<interface"))
	// Output:
	// <name>rayos-linux</name>
	// <memory unit='MiB'>1024</memory>
	// <vcpu>2</vcpu>
	// network interface: false
}
