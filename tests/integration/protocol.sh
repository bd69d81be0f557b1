#!/usr/bin/env bash
# varlink introspection: GetInfo and GetInterfaceDescription return what docs/*.varlink
# say, byte for byte, so that varlink tools and app developers see the real interface.
. "$(dirname "$0")/../lib/common.sh"
VCALL=$T_TOP/tests/lib/vcall.py
export KYSO_SOCKET=$T_DIR/agent.sock
tok_init "$T_DIR/tok" && tok_create proto && tok_key proto 01 ec:p256 k || { t_flunk "make the test token"; t_done; exit 1; }

agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
info=$(python3 "$VCALL" call org.varlink.service.GetInfo)
t_eq "GetInfo: vendor and product" "kyso kysod" "$(echo "$info" | json 'd["parameters"]["vendor"], d["parameters"]["product"]' | tr -d "()',")"
t_eq "GetInfo: version is kysod's" "$("$BUILD/kysod" --version | cut -d' ' -f2)" "$(echo "$info" | json 'd["parameters"]["version"]')"
t_eq "GetInfo: interfaces" "['org.varlink.service', 'io.kyso.Agent']" "$(echo "$info" | json 'd["parameters"]["interfaces"]')"
for iface in io.kyso.Agent org.varlink.service; do
	python3 "$VCALL" call org.varlink.service.GetInterfaceDescription "{\"interface\":\"$iface\"}" |
		python3 -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)["parameters"]["description"])' \
		> "$T_DIR/$iface.varlink"
	t_ok "GetInterfaceDescription($iface) is docs/$iface.varlink" cmp "$T_DIR/$iface.varlink" \
		"$T_TOP/docs/$iface.varlink"
done
t_match "GetInterfaceDescription(unknown) → InterfaceNotFound" \
	'"error":"org.varlink.service.InterfaceNotFound","parameters":\{"interface":"no.such"' \
	"$(python3 "$VCALL" call org.varlink.service.GetInterfaceDescription '{"interface":"no.such"}')"
methods=$(grep -Eo '^method [A-Za-z]+' "$T_TOP/docs/io.kyso.Agent.varlink" | cut -d' ' -f2 | tr '\n' ' ')
t_eq "the interface file declares the eleven methods" \
	"ListTokens ListCertificates Sign SignDigests SignDocuments Login Lock Subscribe ListModules ListWebOrigins ForgetWebOrigins " "$methods"
t_eq "every method in the interface file is served (none is MethodNotFound)" "" \
	"$(for m in $(grep -Eo '^method [A-Za-z]+' "$T_TOP/docs/io.kyso.Agent.varlink" | cut -d' ' -f2); do
		python3 "$VCALL" call "io.kyso.Agent.$m" '{}' | grep MethodNotFound; done)"
t_agent_stops
t_done
