#!/usr/bin/env bash
# The main job, locally: plan and apply examples/sendgrid.yaml against a local moto, as a pipeline
# would against AWS. It adopts an existing HTTP-era CNAME, then re-plans (no changes) and destroys.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/moto-venv.sh
cargo build --quiet
SSLPROV="$PWD/target/debug/sslprov"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
WORK=$(mktemp -d)
MOTO_ACM_VALIDATION_WAIT=3 .venv-moto/bin/moto_server -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
python3 - "$PORT" <<'PY'
import sys, time, urllib.request
for _ in range(200):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("moto did not start; see its log")
PY

export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN

# The brand's DNS as it is before sslprov: the zone, and the HTTP-era CNAME straight to SendGrid.
.venv-moto/bin/python - <<'PY'
import boto3
r53 = boto3.client("route53")
zone = r53.create_hosted_zone(Name="acme.com", CallerReference="demo")["HostedZone"]["Id"]
r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE",
    "ResourceRecordSet": {"Name": "url1234.acme.com", "Type": "CNAME", "TTL": 3600,
                          "ResourceRecords": [{"Value": "sendgrid.net"}]}}]})
PY

cp examples/sendgrid.yaml "$WORK/sslprov.yaml"
cd "$WORK"
set -x
"$SSLPROV" validate -f sslprov.yaml
"$SSLPROV" plan -f sslprov.yaml --out plan.bin || true
"$SSLPROV" apply plan.bin --poll-interval 1s
"$SSLPROV" plan -f sslprov.yaml --detailed-exitcode
"$SSLPROV" state list -f sslprov.yaml
"$SSLPROV" destroy -f sslprov.yaml --auto-approve --restore-adopted --poll-interval 1s
