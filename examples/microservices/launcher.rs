//! The launcher: starts each service as a child process of this executable, wires each
//! to the next by URL, waits for the crawl, scrapes Prometheus, and stops them.

use std::error::Error;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::report::{PageReport, Report, ServiceRun};
use super::role::{Role, NEXT_VAR, ROLE_VAR};
use super::service::READY;

/// How to start the services: which executable (it must call [`serve_role`](super::serve_role)
/// when [`ROLE_VAR`] is set), with which extra variables, within which time.
#[derive(Debug, Clone)]
pub struct Launch {
    program: PathBuf,
    env: Vec<(String, String)>,
    timeout: Duration,
}

impl Launch {
    /// Re-executes the running program for each service.
    ///
    /// # Errors
    ///
    /// When the path of the running program cannot be found.
    pub fn current_exe() -> std::io::Result<Launch> {
        Ok(Launch {
            program: std::env::current_exe()?,
            env: Vec::new(),
            timeout: Duration::from_secs(60),
        })
    }

    /// Sets a variable for every service (on top of this process's environment).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Launch {
        self.env.push((key.into(), value.into()));
        self
    }

    /// How long each step may take: a service to start, the crawl, a service to stop.
    pub fn timeout(mut self, timeout: Duration) -> Launch {
        self.timeout = timeout;
        self
    }

    /// The `service.name` of `role`: its own name, or `<OTEL_SERVICE_NAME>-<role>` when
    /// the variable is set, so that every service keeps a name of its own.
    fn service_name(&self, role: Role) -> (String, bool) {
        let prefix = self
            .env
            .iter()
            .rev()
            .find(|(key, _)| key == "OTEL_SERVICE_NAME")
            .map(|(_, value)| value.clone())
            .or_else(|| std::env::var("OTEL_SERVICE_NAME").ok())
            .filter(|prefix| !prefix.is_empty());
        match prefix {
            Some(prefix) => (format!("{prefix}-{}", role.name()), true),
            None => (role.name().to_owned(), false),
        }
    }
}

/// A started service process; killed if still running when dropped.
struct Running {
    role: Role,
    service_name: String,
    child: Child,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Running {
    fn start(launch: &Launch, role: Role, next: Option<&str>) -> Result<Running, Box<dyn Error>> {
        let (service_name, override_name) = launch.service_name(role);
        let mut command = Command::new(&launch.program);
        command
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .env(ROLE_VAR, role.name())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(next) = next {
            command.env(NEXT_VAR, next);
        }
        if override_name {
            command.env("OTEL_SERVICE_NAME", &service_name);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", launch.program.display()))?;
        let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err("the child's output is not piped".into());
        };
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Ok(Running {
            role,
            service_name,
            child,
            lines,
            stderr: Some(stderr),
        })
    }

    /// The next line the service printed, or `None` once it closed stdout.
    fn line(&self, deadline: Instant) -> Result<Option<String>, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => Ok(Some(line)),
            Err(RecvTimeoutError::Disconnected) => Ok(None),
            Err(RecvTimeoutError::Timeout) => Err(format!("{} did not answer in time", self.service_name)),
        }
    }

    /// Waits for `READY <url> <metrics url>`.
    fn ready(&self, timeout: Duration) -> Result<(String, Option<String>), String> {
        let deadline = Instant::now() + timeout;
        while let Some(line) = self.line(deadline)? {
            let mut words = line.split_whitespace();
            if words.next() == Some(READY) {
                let url = words.next().unwrap_or_default().to_owned();
                let metrics = words.next().filter(|m| *m != "-").map(str::to_owned);
                return Ok((url, metrics));
            }
        }
        Err(format!("{} exited before it was ready", self.service_name))
    }

    /// Closes stdin (the signal to stop) and waits for the exit, killing it on timeout.
    fn stop(mut self, timeout: Duration) -> ServiceRun {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + timeout;
        let success = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status.success(),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break false;
                }
            }
        };
        let output = self
            .stderr
            .take()
            .and_then(|handle| handle.join().ok())
            .unwrap_or_default();
        ServiceRun {
            role: self.role,
            service_name: self.service_name.clone(),
            output,
            success,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the system once: starts the orchestrator, the search engine, the content
/// processor and the scraper (each told the URL of the next), waits for the scraper's
/// crawl, scrapes every Prometheus endpoint a service announced, then stops the
/// services so they flush their telemetry, and reports.
///
/// # Errors
///
/// When a service cannot be started, does not get ready or the crawl does not finish
/// within the timeout; the services started so far are killed.
pub fn run(launch: &Launch) -> Result<Report, Box<dyn Error>> {
    let mut servers = Vec::new();
    let mut metrics_urls = Vec::new();
    let mut next: Option<String> = None;
    for role in Role::START_ORDER {
        let service = Running::start(launch, role, next.as_deref())?;
        if role == Role::Scraper {
            servers.push(service);
            break;
        }
        let (url, metrics) = service.ready(launch.timeout)?;
        if let Some(metrics) = metrics {
            metrics_urls.push((role, metrics));
        }
        next = Some(url);
        servers.push(service);
    }
    let Some(scraper) = servers.pop() else {
        return Err("the scraper was not started".into());
    };

    let deadline = Instant::now() + launch.timeout;
    let mut pages = Vec::new();
    while let Some(line) = scraper.line(deadline)? {
        if let Some(json) = line.strip_prefix("RESULT ") {
            pages.push(serde_json::from_str::<PageReport>(json)?);
        }
    }
    let mut services = vec![scraper.stop(launch.timeout)];

    let metrics = scrape(&metrics_urls)?;
    // Stopped in reverse order of start, so nothing calls a service already gone.
    services.extend(
        servers
            .into_iter()
            .rev()
            .map(|service| service.stop(launch.timeout)),
    );
    services.reverse();
    Ok(Report {
        pages,
        services,
        metrics,
    })
}

/// GETs each Prometheus endpoint.
fn scrape(urls: &[(Role, String)]) -> Result<Vec<(Role, String)>, Box<dyn Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let mut scraped = Vec::new();
        for (role, url) in urls {
            let text = client.get(url).send().await?.error_for_status()?.text().await?;
            scraped.push((*role, text));
        }
        Ok(scraped)
    })
}
