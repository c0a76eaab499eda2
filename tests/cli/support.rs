//! A project directory with a spec, and the binary run in it against a fresh AWS account.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sslprov_cf_emulator::Emulator;
use sslprov_testsupport::{AwsEnv, MotoServer};

pub struct Project {
    pub dir: tempfile::TempDir,
    pub aws: AwsEnv,
    /// The Cloudflare API emulator, when the spec puts a zone at Cloudflare.
    pub cf: Option<Arc<Emulator>>,
    cf_zones: std::collections::BTreeMap<String, String>,
    /// The Fastly API emulator, when a domain's CDN is Fastly. Its certificates issue once the
    /// `_acme-challenge` CNAME they ask for is at the domain's DNS host (and issuance is not held).
    pub fastly: Option<sslprov_fastly_emulator::Emulator>,
    /// The Google Cloud emulator, when a domain's CDN is Google Cloud. Its certificates issue once
    /// the `_acme-challenge` CNAME of their DNS authorization is at the domain's DNS host (and
    /// issuance is not held).
    pub gcp: Option<sslprov_gcp_emulator::Emulator>,
    /// The Azure Resource Manager emulator, when a domain's CDN is Azure Front Door. Its custom
    /// domains are validated once the `_dnsauth` TXT record holding their token is at the domain's
    /// DNS host (and issuance is not held).
    pub azure: Option<sslprov_azure_emulator::Emulator>,
    /// While set, the Fastly and Google Cloud emulators see no challenge CNAME, the Azure emulator
    /// no `_dnsauth` TXT and Pebble no challenge TXT: certificates stay pending (Pebble's fail once
    /// it is asked to validate).
    pub hold_issuance: Arc<AtomicBool>,
    /// The KeyCDN API emulator, when a domain's CDN is KeyCDN.
    pub keycdn: Option<sslprov_keycdn_emulator::Emulator>,
    /// Pebble, the ACME test CA, when a domain's CDN takes sslprov's own ACME certificate. Its
    /// DNS-01 lookups read the TXT records at the project's DNS hosts.
    pub pebble: Option<sslprov_acme_harness::Pebble>,
    extra_env: Vec<(String, String)>,
}

/// The secret sslprov seals ACME private keys with, in these tests.
pub const ACME_KEY: &str = "sslprov-test-secret-0123456789abcdef-0123";

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Project {
    /// A project whose spec is `spec`, in a fresh account holding the spec's zones.
    pub async fn new(spec: &str) -> Project {
        Project::with_aws(spec, AwsEnv::new().await).await
    }

    pub async fn on(moto: &MotoServer, spec: &str) -> Project {
        Project::with_aws(spec, AwsEnv::with_moto(moto).await).await
    }

    async fn with_aws(spec: &str, aws: AwsEnv) -> Project {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("sslprov.yaml"), spec).expect("write spec");
        let spec = sslprov::spec::Spec::load(&dir.path().join("sslprov.yaml")).expect("test spec is valid");
        let at_cloudflare = |d: &&sslprov::spec::Domain| d.dns == "cloudflare";
        let cf = spec.domains.values().any(|d| at_cloudflare(&d)).then(|| Arc::new(Emulator::start()));
        let fastly = spec.domains.values().any(|d| d.cdn == "fastly").then(sslprov_fastly_emulator::Emulator::start);
        let gcp = spec.domains.values().any(|d| d.cdn == "google-cloud").then(sslprov_gcp_emulator::Emulator::start);
        let azure =
            spec.domains.values().any(|d| d.cdn == "azure-frontdoor").then(sslprov_azure_emulator::Emulator::start);
        let keycdn = spec.domains.values().any(|d| d.cdn == "keycdn").then(sslprov_keycdn_emulator::Emulator::start);
        let mut p = Project {
            dir,
            aws,
            cf,
            cf_zones: Default::default(),
            fastly,
            gcp,
            azure,
            hold_issuance: Arc::default(),
            keycdn,
            pebble: None,
            extra_env: Vec::new(),
        };
        let mut zones = std::collections::BTreeMap::new();
        for d in spec.domains.values() {
            zones.insert(d.zone.clone(), at_cloudflare(&d));
        }
        for (zone, cloudflare) in zones {
            match (&p.cf, cloudflare) {
                (Some(cf), true) => {
                    let id = cf.add_zone(&zone, sslprov_cf_emulator::Plan::Free);
                    cf.set_advanced_certificate_manager(&id, true);
                    p.cf_zones.insert(zone, id);
                }
                _ => {
                    p.aws.create_zone(&zone).await;
                }
            }
        }
        if let Some(cf) = &p.cf {
            p.extra_env.push(("CLOUDFLARE_API_TOKEN".into(), cf.token()));
            p.extra_env.push(("CLOUDFLARE_API_BASE_URL".into(), cf.base_url()));
        }
        if let Some(fastly) = &p.fastly {
            p.extra_env.push(("FASTLY_API_TOKEN".into(), fastly.token()));
            p.extra_env.push(("FASTLY_API_BASE_URL".into(), fastly.base_url()));
            fastly.set_dns(p.dns_lookup());
        }
        if let Some(gcp) = &p.gcp {
            let credentials = gcp.write_credentials(p.dir.path());
            p.extra_env.push(("GOOGLE_CLOUD_PROJECT".into(), "sslprov-test".into()));
            p.extra_env.push(("GOOGLE_CLOUD_COMPUTE_URL".into(), gcp.compute_url()));
            p.extra_env.push(("GOOGLE_CLOUD_CERTIFICATE_MANAGER_URL".into(), gcp.certificate_manager_url()));
            p.extra_env.push(("GOOGLE_APPLICATION_CREDENTIALS".into(), credentials.display().to_string()));
            p.extra_env.push(("SSLPROV_GOOGLE_CLOUD_POLL_MS".into(), "50".into()));
            gcp.set_dns(p.dns_lookup());
        }
        if let Some(azure) = &p.azure {
            for (k, v) in azure.env() {
                p.extra_env.push((k.into(), v));
            }
            p.extra_env.push(("SSLPROV_AZURE_POLL_MS".into(), "20".into()));
            azure.set_dns(p.txt_lookup());
        }
        if let Some(keycdn) = &p.keycdn {
            p.extra_env.push(("KEYCDN_API_KEY".into(), keycdn.api_key()));
            p.extra_env.push(("KEYCDN_API_BASE_URL".into(), keycdn.base_url()));
            p.extra_env.push(("KEYCDN_ACCOUNT_ID".into(), keycdn.account_id().to_string()));
            keycdn.set_dns(p.dns_lookup());
            let pebble = sslprov_acme_harness::Pebble::start(Arc::new(p.txt_lookup()));
            p.extra_env.extend(pebble.env());
            p.extra_env.push(("SSLPROV_ACME_KEY".into(), ACME_KEY.into()));
            p.pebble = Some(pebble);
        }
        p
    }

    /// A project with no spec yet (for `init`) in a fresh account, with the Cloudflare emulator
    /// when `cloudflare`; zones are added with [`AwsEnv::create_zone`] and
    /// [`Emulator::add_zone`].
    pub async fn without_spec(cloudflare: bool) -> Project {
        let dir = tempfile::tempdir().expect("temp dir");
        let cf = cloudflare.then(|| Arc::new(Emulator::start()));
        let mut extra_env = Vec::new();
        if let Some(cf) = &cf {
            extra_env.push(("CLOUDFLARE_API_TOKEN".into(), cf.token()));
            extra_env.push(("CLOUDFLARE_API_BASE_URL".into(), cf.base_url()));
        }
        Project {
            dir,
            aws: AwsEnv::new().await,
            cf,
            cf_zones: Default::default(),
            fastly: None,
            gcp: None,
            azure: None,
            hold_issuance: Arc::default(),
            keycdn: None,
            pebble: None,
            extra_env,
        }
    }

    /// The TXT strings at `name`, as the project's DNS hosts hold them now, unless issuance is
    /// held: what Pebble's DNS-01 validation (and sslprov's own check before it) sees.
    fn txt_lookup(&self) -> impl Fn(&str) -> Vec<String> + Send + Sync + 'static {
        let hold = self.hold_issuance.clone();
        let cf = self.cf.clone();
        let cf_zones = self.cf_zones.clone();
        let route53 = self.aws.route53();
        move |name: &str| {
            if hold.load(Ordering::SeqCst) {
                return Vec::new();
            }
            let name = name.trim_end_matches('.').to_owned();
            let zone = cf_zones.keys().find(|z| name.ends_with(&format!(".{z}")));
            match (&cf, zone) {
                (Some(cf), Some(zone)) => cf
                    .records(&cf_zones[zone])
                    .into_iter()
                    .filter(|r| r.r#type == "TXT" && r.name == name)
                    .map(|r| r.content.trim_matches('"').to_owned())
                    .collect(),
                _ => route53_values(&route53, &name, aws_sdk_route53::types::RrType::Txt)
                    .into_iter()
                    .map(|v| v.trim_matches('"').to_owned())
                    .collect(),
            }
        }
    }

    pub fn keycdn(&self) -> &sslprov_keycdn_emulator::Emulator {
        self.keycdn.as_ref().expect("the spec has a domain on KeyCDN")
    }

    pub fn pebble(&self) -> &sslprov_acme_harness::Pebble {
        self.pebble.as_ref().expect("the spec has a domain on KeyCDN")
    }

    /// The CNAME target at `name`, as the project's DNS hosts hold it now (Cloudflare's emulator
    /// or Route 53 on moto), unless issuance is held.
    fn dns_lookup(&self) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
        let hold = self.hold_issuance.clone();
        let cf = self.cf.clone();
        let cf_zones = self.cf_zones.clone();
        let route53 = self.aws.route53();
        move |name: &str| {
            if hold.load(Ordering::SeqCst) {
                return None;
            }
            let name = name.trim_end_matches('.').to_owned();
            let zone = cf_zones.keys().find(|z| name.ends_with(&format!(".{z}")));
            match (&cf, zone) {
                (Some(cf), Some(zone)) => cf
                    .records(&cf_zones[zone])
                    .into_iter()
                    .find(|r| r.r#type == "CNAME" && r.name == name)
                    .map(|r| r.content.trim_end_matches('.').to_owned()),
                _ => route53_cname(&route53, &name),
            }
        }
    }

    pub fn cloudflare(&self) -> &Emulator {
        self.cf.as_deref().expect("the spec has a zone at Cloudflare")
    }

    /// The emulator's id of `zone`.
    pub fn cf_zone(&self, zone: &str) -> String {
        self.cf_zones.get(zone).cloned().expect("zone at the emulator")
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.extra_env.push((key.into(), value.into()));
        self
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sslprov"));
        self.aws.apply_to(&mut c);
        // Only the project's own emulator: never a token the developer's shell has.
        c.env_remove("CLOUDFLARE_API_TOKEN").env_remove("CLOUDFLARE_API_BASE_URL");
        c.args(args).current_dir(self.dir.path()).envs(self.extra_env.iter().cloned()).stdin(Stdio::null());
        c
    }

    /// Runs `sslprov ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).output().expect("run sslprov").into()
    }

    /// Runs `sslprov ARGS` and expects `code`.
    pub fn ok(&self, args: &[&str], code: i32) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, code, "sslprov {}\n{r:?}", args.join(" "));
        r
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn sslprov")
    }

    pub fn apply(&self) -> Run {
        self.ok(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"], 0)
    }

    /// The state as sslprov reads it: the snapshot with the journal a stopped run left.
    pub fn state(&self) -> serde_json::Value {
        let state = sslprov::state::StateFile::new(self.path("sslprov.state.json")).read().expect("state reads");
        serde_json::to_value(state.expect("a state was written")).expect("state is JSON")
    }

    /// Waits (bounded) until the proxy has seen `call`.
    pub async fn until_seen(&self, call: &str) {
        let seen = until(|| self.aws.proxy().count(call) > 0).await;
        assert!(seen, "{call} never reached the proxy; log: {:?}", self.aws.proxy().log());
    }
}

/// Asks `probe` every 25 ms, for up to 20 s, until it answers: how a test waits for a run it
/// spawned to reach a point.
pub async fn eventually<T>(mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..800 {
        if let Some(answer) = probe() {
            return Some(answer);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    None
}

/// [`eventually`] for a yes or no: whether `cond` came true in time.
pub async fn until(mut cond: impl FnMut() -> bool) -> bool {
    eventually(|| cond().then_some(())).await.is_some()
}

/// The CNAME at `name` in Route 53 (moto).
fn route53_cname(client: &aws_sdk_route53::Client, name: &str) -> Option<String> {
    let values = route53_values(client, name, aws_sdk_route53::types::RrType::Cname);
    values.first().map(|v| v.trim_end_matches('.').to_owned())
}

/// The values at `name` of type `rtype` in Route 53 (moto), read on a thread of its own: the
/// emulators ask from inside their own runtimes.
fn route53_values(client: &aws_sdk_route53::Client, name: &str, rtype: aws_sdk_route53::types::RrType) -> Vec<String> {
    let (client, name) = (client.clone(), name.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        rt.block_on(async {
            let zones = client.list_hosted_zones().send().await.ok()?;
            for z in zones.hosted_zones() {
                let sets = client.list_resource_record_sets().hosted_zone_id(z.id()).send().await.ok()?;
                let found = sets
                    .resource_record_sets()
                    .iter()
                    .find(|s| s.name().trim_end_matches('.') == name && s.r#type() == &rtype);
                if let Some(set) = found {
                    return Some(set.resource_records().iter().map(|r| r.value().to_owned()).collect());
                }
            }
            None
        })
    })
    .join()
    .ok()
    .flatten()
    .unwrap_or_default()
}

/// The calls the proxy saw, in order, as `service:Operation`.
pub fn calls(p: &Project) -> Vec<String> {
    p.aws.proxy().log().into_iter().map(|e| e.call).collect()
}

pub fn position(calls: &[String], call: &str) -> usize {
    calls.iter().position(|c| c == call).unwrap_or_else(|| panic!("{call} not in {calls:?}"))
}

pub fn last_position(calls: &[String], call: &str) -> usize {
    calls.iter().rposition(|c| c == call).unwrap_or_else(|| panic!("{call} not in {calls:?}"))
}

pub fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

pub fn examples_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
}

pub const SENDGRID: &str = "\
version: 1
braze_cluster: US-05
state: { path: sslprov.state.json }
domains:
  acme:
    tracking_domain: url1234.acme.com
    esp: sendgrid
    zone: acme.com
";

/// Four brands on one `cdn`: SparkPost US and EU, SendGrid and SES, their DNS split between
/// Route 53 and Cloudflare.
pub fn four_brands(cdn: &str) -> String {
    format!(
        "\
version: 1
braze_cluster: US-05
state: {{ path: sslprov.state.json }}
defaults: {{ cdn: {cdn}, dns: route53 }}
domains:
  acme:
    tracking_domain: click.acme.com
    esp: sparkpost
    zone: acme.com
  beta:
    tracking_domain: click.beta.com
    esp: sparkpost
    braze_cluster: EU-01
    zone: beta.com
    dns: cloudflare
  gamma:
    tracking_domain: click.gamma.com
    esp: sendgrid
    zone: gamma.com
  delta:
    tracking_domain: click.delta.com
    esp: ses
    zone: delta.com
    dns: cloudflare
"
    )
}

/// Two brands on `cdn`, click.acme.com and click.beta.com, of the two `esps`, DNS at `dns`.
pub fn two_brands(cdn: &str, dns: &str, esps: [&str; 2]) -> String {
    let [acme, beta] = esps;
    format!(
        "\
version: 1
braze_cluster: US-05
state: {{ path: sslprov.state.json }}
defaults: {{ cdn: {cdn}, dns: {dns} }}
domains:
  acme:
    tracking_domain: click.acme.com
    esp: {acme}
    zone: acme.com
  beta:
    tracking_domain: click.beta.com
    esp: {beta}
    zone: beta.com
"
    )
}

/// The record set at `name` at its DNS host (the Cloudflare emulator where it holds `zone`, else
/// Route 53), a TXT one or another: its type and values, quotes and final dots trimmed.
pub async fn record(p: &Project, zone: &str, name: &str, txt: bool) -> Option<(String, Vec<String>)> {
    if let Some(cf) = &p.cf
        && let Ok(id) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.cf_zone(zone)))
    {
        let found: Vec<_> =
            cf.records(&id).into_iter().filter(|r| r.name == name && (r.r#type == "TXT") == txt).collect();
        let first = found.first()?;
        return Some((first.r#type.clone(), found.iter().map(|r| r.content.trim_matches('"').to_owned()).collect()));
    }
    let r53 = p.aws.route53();
    let zones = r53.list_hosted_zones().send().await.unwrap();
    let id = zones.hosted_zones().iter().find(|z| z.name() == format!("{zone}."))?.id().to_owned();
    let sets = r53.list_resource_record_sets().hosted_zone_id(id).send().await.unwrap();
    sets.resource_record_sets()
        .iter()
        .find(|s| s.name() == format!("{name}.") && (s.r#type().as_str() == "TXT") == txt)
        .map(|s| {
            (
                s.r#type().as_str().to_owned(),
                s.resource_records()
                    .iter()
                    .map(|r| r.value().trim_end_matches('.').trim_matches('"').to_owned())
                    .collect(),
            )
        })
}
