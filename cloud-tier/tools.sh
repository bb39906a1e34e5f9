#!/usr/bin/env bash
# The real terraform-provider-openstack (and a Terraform CLI where none is on PATH), built from
# their Go modules into the git-ignored .cloud-tier/ and laid out as a filesystem mirror, so that
# `terraform init` installs the provider offline and still checks our stacks' version constraint.
#
#   cloud-tier/tools.sh        # prints the env lines to use: TF_CLI_CONFIG_FILE=... TF_BIN=...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.cloud-tier"
provider_version=3.4.0
tofu_version=1.10.7
mirror="$state/mirror/registry.terraform.io/terraform-provider-openstack/openstack/$provider_version/linux_amd64"
export PATH="/usr/local/go/bin:$PATH" GOFLAGS=-mod=mod
mkdir -p "$state/gobin" "$mirror"

if ! command -v go >/dev/null; then
  echo "cloud-tier tools: no Go toolchain (go) on PATH or in /usr/local/go/bin" >&2
  exit 3
fi
bin="$mirror/terraform-provider-openstack_v$provider_version"
if [ ! -x "$bin" ]; then
  # Takes minutes on 2 cores the first time; the module and build caches make reruns quick.
  GOBIN="$state/gobin" go install "github.com/terraform-provider-openstack/terraform-provider-openstack/v3@v$provider_version" >&2
  cp "$state/gobin/terraform-provider-openstack" "$bin"
fi

tf=$(command -v terraform || true)
if [ -z "$tf" ]; then
  # No terraform here: OpenTofu from its Go module (HashiCorp's terraform module is BUSL and
  # not installable with `go install` at a pinned release; cdktf drives either CLI).
  if [ ! -x "$state/gobin/tofu" ]; then
    GOBIN="$state/gobin" go install "github.com/opentofu/opentofu/cmd/tofu@v$tofu_version" >&2
  fi
  tf="$state/gobin/tofu"
fi

cat > "$state/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$state/mirror"
    include = ["registry.terraform.io/terraform-provider-openstack/openstack"]
  }
  direct {
    exclude = ["registry.terraform.io/terraform-provider-openstack/openstack"]
  }
}
RC
echo "TF_CLI_CONFIG_FILE=$state/terraformrc"
echo "TF_BIN=$tf"
