//! moto's server as a stand-in for DynamoDB, S3, KMS, SES and Secrets
//! Manager: started on a free loopback port by the first test that needs
//! it, shared by the tests running at the same time, killed when the last
//! of them drops it. Each test makes its own table or bucket.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use visa_aws::Cloud;

pub const REGION: &str = "eu-central-1";

pub struct Moto {
    /// The `sh` that owns moto_server: it kills moto when its stdin closes,
    /// which also happens if this test process dies without unwinding.
    shell: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    log: PathBuf,
}

static SHARED: Mutex<Weak<Moto>> = Mutex::new(Weak::new());

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// moto's own server app (what `moto_server` runs), with one change:
/// requests are handled one at a time. moto serves each request on its own
/// thread without isolation, and a failed TransactWriteItems restores a
/// copy of the whole table taken when it started, undoing what other
/// requests committed meanwhile (50 concurrent claims of one invitation
/// ended with 1 success but 2 applications stored). DynamoDB serialises
/// transactions; so does this.
const SERVER: &str = r#"
import os, sys, threading
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()
def serialised(environ, start_response):
    with lock:
        return list(app(environ, start_response))
run_simple(host, port, serialised, threaded=True)
"#;

/// The Python interpreter itself, not a launcher in front of it (a pyenv
/// shim forks, and killing the shim would leave moto running).
pub fn python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs (moto is a Python program)");
    String::from_utf8(out.stdout)
        .expect("a path")
        .trim()
        .to_owned()
}

/// Installs `moto[server]` with pip when it is missing; the interpreter.
fn ensure_installed() -> String {
    let python = python();
    let check = "import moto.moto_server.werkzeug_app, flask, werkzeug";
    let found = Command::new(&python)
        .args(["-c", check])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if found.is_ok_and(|s| s.success()) {
        return python;
    }
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "moto[server]"])
        .status()
        .expect("pip runs");
    assert!(status.success(), "pip install 'moto[server]' failed");
    python
}

/// True once moto answers HTTP on `port`.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

impl Moto {
    /// The running server, or a new one.
    pub fn shared() -> Arc<Moto> {
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(moto) = shared.upgrade() {
            return moto;
        }
        let moto = Arc::new(Moto::start());
        *shared = Arc::downgrade(&moto);
        moto
    }

    /// A server of its own (for tests that must not share one).
    pub fn start() -> Moto {
        let python = ensure_installed();
        let mut last_log = PathBuf::new();
        // A port found free may be taken before moto binds it: try again.
        for _ in 0..3 {
            let port = free_port();
            let log = std::env::temp_dir().join(format!("moto-{port}.log"));
            let mut shell = Command::new("sh")
                .args([
                    "-c",
                    r#""$4" -c "$3" 127.0.0.1 "$1" >"$2" 2>&1 & m=$!; read _; kill $m; wait $m"#,
                    "sh",
                ])
                .arg(port.to_string())
                .arg(&log)
                .arg(SERVER)
                .arg(&python)
                .stdin(Stdio::piped())
                // Authenticator codes checked for real (tests/src/cognito.rs).
                .env("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")
                // Quiet: the shell reports moto's SIGTERM ("Terminated").
                .stderr(Stdio::null())
                .spawn()
                .expect("sh starts");
            let stdin = shell.stdin.take();
            let mut moto = Moto {
                shell,
                stdin,
                port,
                log: log.clone(),
            };
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if answers(port) {
                    return moto;
                }
                if let Ok(Some(_)) = moto.shell.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            last_log = log;
            drop(moto);
        }
        let log = std::fs::read_to_string(&last_log).unwrap_or_default();
        panic!("moto_server did not start; its log:\n{log}");
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> &PathBuf {
        &self.log
    }

    /// SDK configuration against this server: test keys, eu-central-1.
    /// Build it inside the test's runtime (clients hold its connections).
    pub async fn sdk_config(&self) -> SdkConfig {
        visa_aws::config::defaults()
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .endpoint_url(self.endpoint())
            .load()
            .await
    }

    pub async fn cloud(&self) -> Cloud {
        Cloud::new(self.sdk_config().await)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Closing stdin makes the shell kill moto_server and wait for it.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.shell.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.shell.kill();
        let _ = self.shell.wait();
    }
}

/// A name no other test uses, for a table or bucket.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// The table as infra/template.yaml declares it: pk/sk strings, GSI1
/// (gsi1pk/gsi1sk, all attributes), on-demand, `ttl`, NEW_AND_OLD_IMAGES stream.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    let string = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    // The template's indexes: an account's items, then applications by
    // passport number and by surname, the disputes under review (and
    // invitations by inviting party), applications by status.
    let indexes = [
        (visa_aws::dynamo::GSI1, "gsi1pk", "gsi1sk"),
        (visa_aws::dynamo::GSI_PASSPORT, "gsi2pk", "gsi2sk"),
        (visa_aws::dynamo::GSI_SURNAME, "gsi3pk", "gsi3sk"),
        (visa_aws::dynamo::GSI_REVIEW, "gsi4pk", "gsi4sk"),
        (visa_aws::dynamo::GSI_STATUS, "gsi5pk", "gsi5sk"),
    ];
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string("pk"))
        .attribute_definitions(string("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range));
    for (index, pk, sk) in indexes {
        create = create
            .attribute_definitions(string(pk))
            .attribute_definitions(string(sk))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index)
                    .key_schema(key(pk, KeyType::Hash))
                    .key_schema(key(sk, KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            );
    }
    create
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create table");
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("ttl")
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable ttl");
}

/// A private bucket with SSE-S3 by default, as the template's.
/// A KMS key as the template makes it: ECC_NIST_P256, sign and verify.
pub async fn create_signing_key(kms: &aws_sdk_kms::Client) -> aws_sdk_kms::types::KeyMetadata {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    kms.create_key()
        .key_usage(KeyUsageType::SignVerify)
        .key_spec(KeySpec::EccNistP256)
        .send()
        .await
        .expect("create key")
        .key_metadata
        .expect("key metadata")
}

pub async fn create_bucket(client: &aws_sdk_s3::Client, name: &str) {
    use aws_sdk_s3::types::{
        BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration,
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule,
    };
    client
        .create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await
        .expect("create bucket");
    client
        .put_public_access_block()
        .bucket(name)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .expect("block public access");
    let sse = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .unwrap();
    client
        .put_bucket_encryption()
        .bucket(name)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(sse)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("default encryption");
}
