//! The command line: `serve` and the operator commands that work on the same
//! data directory.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, FileConfig};
use crate::domain::channel::{ChannelSettings, MemberRole};
use crate::domain::user::Role;
use crate::service::{NewChannel, NewUser, Service};
use crate::store::Store;

#[derive(Parser)]
#[command(
    name = "docket",
    version = crate::VERSION,
    about = "A self-hosted help desk in one binary"
)]
struct Cli {
    /// Data directory (database, uploads, plugins).
    #[arg(long, global = true, env = "DOCKET_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Configuration file (default: ./docket.toml when present).
    #[arg(long, global = true, env = "DOCKET_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web UI and REST API.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "DOCKET_BIND", value_name = "ADDR")]
        bind: Option<String>,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// The AI agent: how well it does on your cases.
    #[command(subcommand)]
    Ai(AiCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage channels.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// Rebuild the search index and the report figures from the store.
    ///
    /// With --url and --token, asks the running server, which keeps
    /// answering searches from the old index until the new one replaces it
    /// (reports say they are incomplete until their figures are built).
    /// Without them the data directory is rebuilt directly, which needs the
    /// server to be stopped.
    Reindex {
        /// The running server, e.g. http://127.0.0.1:8080.
        #[arg(long, env = "DOCKET_URL", value_name = "URL")]
        url: Option<String>,
        /// An administrator's API token.
        #[arg(long, env = "DOCKET_TOKEN", value_name = "TOKEN")]
        token: Option<String>,
    },
    /// Back up everything into one file (a tar archive compressed with
    /// zstd, with a manifest of checksums): the store, the files it names,
    /// the plugins, the server key and the configuration.
    ///
    /// With --url and --token, asks the running server, which keeps serving
    /// and accepting writes meanwhile. Without them the data directory of a
    /// stopped server is backed up.
    Backup {
        /// Where to write the backup (written beside it first, then renamed).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The running server, e.g. http://127.0.0.1:8080.
        #[arg(long, env = "DOCKET_URL", value_name = "URL")]
        url: Option<String>,
        /// An administrator's API token.
        #[arg(long, env = "DOCKET_TOKEN", value_name = "TOKEN")]
        token: Option<String>,
        /// Also hold the search index, so a restore need not rebuild it
        /// (a stopped server's only: a running one changes it under the copy).
        #[arg(long)]
        with_index: bool,
    },
    /// Restore a backup into the data directory (which must be empty unless
    /// --force), checking every checksum before anything is written, then
    /// rebuild the search index. The server must be stopped.
    Restore {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Replace the store, files and plugins already in the directory.
        #[arg(long)]
        force: bool,
    },
    /// Check a stopped server's data directory: the store's pages, every
    /// file's contents, the outbox and that the search index holds exactly
    /// the store's cases. Exits non-zero on any finding.
    Verify,
    /// Give the store's free space back to the disk (the server must be
    /// stopped) and report the size before and after.
    Compact,
    /// Write a synthetic archive as NDJSON to standard output (for trials
    /// and benchmarks), or with `openapi`, the API document.
    Gen(GenArgs),
    /// Measure this machine: import, storage, durable writes, freshness and
    /// a fixed query mix over HTTP beside the bare index, and memory.
    Bench {
        /// Cases in the generated archive.
        #[arg(long, default_value_t = 1_000_000)]
        cases: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
        /// Keep the archive in DIR (given with --data) for later runs; an
        /// existing one there is reused instead of generated again.
        #[arg(long)]
        keep: bool,
    },
    /// Check plugin scripts before deploying them: every file in DIR
    /// (default: the data directory's plugins/) must compile and declare
    /// valid profiles. Exits non-zero on any error.
    ///
    /// With --replay N, also runs the scripts against the newest N stored
    /// cases without changing anything and prints what they would decide
    /// next to what is stored (the server must be stopped).
    CheckPlugins {
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
        #[arg(long, value_name = "N")]
        replay: Option<usize>,
    },
    /// Deliver one raw message from standard input to a channel of the
    /// running server: the command for an MTA's pipe transport. Exits 0
    /// when stored, 75 (temporary failure) when the MTA should retry, and
    /// 65, 67 or 78 when it should bounce the message (a refused token is 75).
    Mailgate {
        /// The channel's name (or id).
        #[arg(long, value_name = "NAME")]
        channel: String,
        /// The running server.
        #[arg(
            long,
            env = "DOCKET_URL",
            value_name = "URL",
            default_value = "http://127.0.0.1:8080"
        )]
        url: String,
        /// An API token of the channel's manager or an administrator.
        #[arg(
            long,
            env = "DOCKET_TOKEN",
            value_name = "TOKEN",
            hide_env_values = true
        )]
        token: Option<String>,
    },
    /// Load an NDJSON archive (see `docket gen`) into the data directory
    /// and index it; `-` reads standard input. The server must be stopped.
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Take a whole existing mailbox into a channel with its history:
    /// oldest first, each message dated by its own Date header, threaded as
    /// usual, with no flood limit, no acknowledgements and no Slack
    /// messages. Taking a message in twice changes nothing, so an import
    /// that was stopped is simply run again. The server must be stopped;
    /// it indexes the new cases when it starts.
    #[command(group(clap::ArgGroup::new("mailbox").required(true).multiple(false)))]
    ImportMail {
        /// The channel's name (or id).
        #[arg(long, value_name = "NAME")]
        channel: String,
        /// An mbox file.
        #[arg(long, value_name = "FILE", group = "mailbox")]
        mbox: Option<PathBuf>,
        /// A Maildir folder (holding cur/ and new/).
        #[arg(long, value_name = "DIR", group = "mailbox")]
        maildir: Option<PathBuf>,
        /// An IMAP account: imaps://USER@HOST[:PORT] (TLS), imap://... (STARTTLS)
        /// or imap+plain://... (this machine only); the password from
        /// DOCKET_IMAP_PASSWORD. Messages are read, never marked seen.
        #[arg(long, value_name = "URL", group = "mailbox")]
        imap: Option<String>,
        /// The IMAP folder to read (INBOX when left out).
        #[arg(long, value_name = "FOLDER", requires = "imap")]
        folder: Option<String>,
    },
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct GenArgs {
    #[command(subcommand)]
    what: Option<GenCommand>,
    /// How many cases the archive holds.
    #[arg(long, default_value_t = 1000)]
    cases: u64,
    /// The same seed always gives the same archive.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Subcommand)]
enum GenCommand {
    /// Print the OpenAPI document the server serves at /api/openapi.json.
    Openapi,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. Without --password-stdin a random password is printed.
    Add {
        username: String,
        #[arg(long, default_value = "user", value_parser = ["admin", "user", "partner"])]
        role: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        password: PasswordInput,
    },
    /// List users.
    List,
    /// Set a user's password. Without --password-stdin a random one is printed.
    Passwd {
        username: String,
        #[command(flatten)]
        password: PasswordInput,
    },
}

#[derive(Args)]
struct PasswordInput {
    /// Read the password from standard input (one line).
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Subcommand)]
enum AiCommand {
    /// Cross-validate the AI agent on the stored cases people decided
    /// (the server must be stopped): each fold, by case number, is
    /// predicted by models trained on the others. Prints the confusion
    /// matrices, and how the plugins' `categorize` does on the same cases.
    Evaluate {
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=20))]
        folds: u64,
        /// The plugins to compare with (default: the data directory's
        /// plugins/); `none` to skip the comparison.
        #[arg(long)]
        plugins: Option<PathBuf>,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a user and print it once.
    Create {
        #[arg(long)]
        user: String,
        /// A note on what the token is for.
        #[arg(long, default_value = "created with docket token create")]
        label: String,
        /// Days until the token expires (default: never).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
        expires_days: Option<u32>,
    },
}

#[derive(Subcommand)]
enum ChannelCommand {
    /// Create a channel.
    Add {
        name: String,
        /// The address the channel's mail is sent from and received at.
        #[arg(long)]
        email: Option<String>,
        /// Let agents track time on this channel's cases.
        #[arg(long)]
        time_tracking: bool,
        /// Reply window for time-sensitive channels, in hours.
        #[arg(long)]
        reply_window_hours: Option<u32>,
        /// Add members as USER or USER:manager (repeatable).
        #[arg(long = "member", value_name = "USER[:ROLE]")]
        members: Vec<String>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Command::Mailgate {
        channel,
        url,
        token,
    } = &cli.command
    {
        let mut raw = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut raw) {
            eprintln!("error: cannot read the message: {e}");
            return ExitCode::from(crate::mail::gate::exit::TEMPFAIL);
        }
        let token = token.clone().unwrap_or_default();
        let result = runtime.block_on(crate::mail::gate::deliver(url, &token, channel, raw));
        if result.code == crate::mail::gate::exit::OK {
            println!("{}", result.message);
        } else {
            eprintln!("error: {}", result.message);
        }
        return ExitCode::from(result.code);
    }
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DOCKET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(cli: Cli) -> Result<(), String> {
    let file = FileConfig::load(cli.config.as_deref()).map_err(|e| e.to_string())?;
    let config_file = FileConfig::path_read(cli.config.as_deref());
    match cli.command {
        Command::Serve { bind } => {
            let mut config = file.resolve(cli.data, bind).map_err(|e| e.to_string())?;
            config.config_file = config_file;
            let admin_password = std::env::var("DOCKET_ADMIN_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty());
            crate::app::serve(config, admin_password)
                .await
                .map_err(|e| e.to_string())
        }
        Command::User(command) => user_command(offline_service(file, cli.data)?, command).await,
        Command::Token(command) => token_command(offline_service(file, cli.data)?, command).await,
        Command::Ai(AiCommand::Evaluate {
            folds,
            plugins,
            json,
        }) => {
            let config = file
                .clone()
                .resolve(cli.data.clone(), None)
                .map_err(|e| e.to_string())?;
            let dir = plugins.unwrap_or_else(|| config.data_dir.join("plugins"));
            let service = offline_service(file, cli.data)?;
            ai_evaluate(&service, &config, folds, &dir, json)
        }
        Command::Channel(command) => {
            channel_command(offline_service(file, cli.data)?, command).await
        }
        Command::Reindex {
            url: Some(url),
            token,
        } => reindex_remote(&url, token.as_deref()).await,
        Command::Reindex { url: None, .. } => reindex_offline(file, cli.data).await,
        Command::Backup {
            url: Some(_),
            with_index: true,
            ..
        } => Err(
            "--with-index needs the server stopped (its index changes under the copy); \
             leave it out and the restore rebuilds the index"
                .into(),
        ),
        Command::Backup {
            file: target,
            url: Some(url),
            token,
            ..
        } => crate::backup::cli::backup_remote(&url, token.as_deref(), &target).await,
        Command::Backup {
            file: target,
            url: None,
            with_index,
            ..
        } => {
            let mut config = file.resolve(cli.data, None).map_err(|e| e.to_string())?;
            config.config_file = config_file;
            crate::backup::cli::backup_offline(&config, &target, with_index).await
        }
        Command::Restore {
            file: backup,
            force,
        } => {
            let config = file.resolve(cli.data, None).map_err(|e| e.to_string())?;
            crate::backup::cli::restore(&config, &backup, force).await
        }
        Command::Verify => {
            let config = file.resolve(cli.data, None).map_err(|e| e.to_string())?;
            crate::backup::cli::verify(&config).await
        }
        Command::Compact => {
            let config = file.resolve(cli.data, None).map_err(|e| e.to_string())?;
            crate::backup::cli::compact(&config).await
        }
        Command::Gen(GenArgs {
            what: Some(GenCommand::Openapi),
            ..
        }) => {
            println!("{}", crate::http::openapi_json());
            Ok(())
        }
        Command::Gen(GenArgs {
            what: None,
            cases,
            seed,
        }) => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            crate::archive::generate::write_archive(cases, seed, &mut out)
                .map_err(|e| format!("cannot write the archive: {e}"))
        }
        Command::Bench {
            cases,
            seed,
            json,
            keep,
        } => {
            let data = if keep {
                Some(cli.data.ok_or("--keep needs --data DIR for the archive")?)
            } else {
                None
            };
            crate::bench::run(crate::bench::BenchOptions {
                cases,
                seed,
                data,
                json,
            })
            .await
        }
        Command::CheckPlugins { dir, replay } => {
            let config = file.resolve(cli.data, None).map_err(|e| e.to_string())?;
            check_plugins(config, dir, replay)
        }
        Command::Import { file: archive } => {
            let config = file.resolve(cli.data, None).map_err(|e| e.to_string())?;
            import_archive(config, &archive).await
        }
        Command::ImportMail {
            channel,
            mbox,
            maildir,
            imap,
            folder,
        } => {
            let source = match (mbox, maildir, imap) {
                (Some(path), _, _) => MailSource::Mbox(path),
                (_, Some(path), _) => MailSource::Maildir(path),
                (_, _, Some(url)) => {
                    let password = std::env::var("DOCKET_IMAP_PASSWORD").ok();
                    let folder = folder.unwrap_or_else(|| "INBOX".into());
                    let settings =
                        crate::domain::channel::ImapSettings::from_url(&url, &folder, password)
                            .map_err(|e| e.to_string())?;
                    MailSource::Imap(Box::new(settings))
                }
                _ => return Err("name a mailbox: --mbox FILE, --maildir DIR or --imap URL".into()),
            };
            let service = offline_service(file, cli.data)?;
            import_mail(service, &channel, source).await
        }
        Command::Mailgate { .. } => {
            Err("mailgate runs on its own; see docket mailgate --help".into())
        }
    }
}

/// The service on the data directory, for commands that run without the
/// server. The directory lock makes them fail clearly while it runs.
fn offline_service(file: FileConfig, data: Option<PathBuf>) -> Result<Service, String> {
    let config = file.resolve(data, None).map_err(|e| e.to_string())?;
    let store = Store::open(&config.data_dir).map_err(|e| e.to_string())?;
    Ok(Service::new(store, Arc::new(Config { ..config })))
}

/// A share as a percentage, or a dash when there is none.
fn percent(v: Option<f32>) -> String {
    v.map_or("—".into(), |v| format!("{:.1}%", v * 100.0))
}

/// `docket ai evaluate`.
fn ai_evaluate(
    service: &Service,
    config: &Config,
    folds: u64,
    plugins: &std::path::Path,
    json: bool,
) -> Result<(), String> {
    let host = if plugins.as_os_str() == "none" || !plugins.is_dir() {
        None
    } else {
        let host = crate::scripting::ScriptHost::new(plugins, &config.scripting);
        host.reload();
        Some(host)
    };
    let evaluation = service
        .evaluate_ai(folds, host.as_ref())
        .map_err(|e| e.to_string())?;
    if json {
        let models: serde_json::Map<String, serde_json::Value> = evaluation
            .confusions
            .iter()
            .map(|(name, m)| {
                (
                    (*name).to_owned(),
                    serde_json::json!({
                        "accuracy": m.accuracy(),
                        "labels": m.scores(),
                        "confusion": m.counts,
                    }),
                )
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "cases": evaluation.cases,
                "folds": evaluation.folds,
                "seconds": evaluation.seconds,
                "models": models,
                "rules": evaluation.rules,
            })
        );
        return Ok(());
    }
    println!(
        "{} labelled cases, {}-fold cross-validation in {:.1} s\n",
        evaluation.cases, evaluation.folds, evaluation.seconds
    );
    for (name, matrix) in &evaluation.confusions {
        println!("{name}: accuracy {}", percent(matrix.accuracy()));
        print!("{}", matrix.render());
        for s in matrix.scores() {
            println!(
                "  {:<14} precision {:>6}  recall {:>6}  ({} cases)",
                s.label,
                percent(s.precision),
                percent(s.recall),
                s.held_out
            );
        }
        println!();
    }
    if let Some(rules) = &evaluation.rules {
        println!(
            "plugins ({}): category accuracy {}, spam recall {}, not-spam filed as spam {}",
            plugins.display(),
            percent(rules.category_accuracy),
            percent(rules.spam_recall),
            percent(rules.ham_marked_spam)
        );
    }
    Ok(())
}

/// `docket check-plugins`: compile, then optionally replay.
fn check_plugins(
    config: Config,
    dir: Option<PathBuf>,
    replay: Option<usize>,
) -> Result<(), String> {
    let dir = dir.unwrap_or_else(|| config.data_dir.join("plugins"));
    let (files, problems) =
        crate::scripting::check_dir(&dir, &config.scripting).map_err(|e| e.to_string())?;
    for problem in &problems {
        eprintln!("error: {problem}");
    }
    if !problems.is_empty() {
        return Err(format!(
            "{} problem(s) in {} plugin file(s) in {}",
            problems.len(),
            files,
            dir.display()
        ));
    }
    println!("{files} plugin file(s) in {} are fine.", dir.display());
    let Some(limit) = replay else {
        return Ok(());
    };
    let host = crate::scripting::ScriptHost::new(&dir, &config.scripting);
    host.reload();
    let store = Store::open(&config.data_dir).map_err(|e| e.to_string())?;
    let service = Service::new(store, Arc::new(config));
    let rows = service
        .replay_rules(&host, limit.max(1))
        .map_err(|e| e.to_string())?;
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    for row in &rows {
        println!("#{} {}", row.number, row.subject);
        println!(
            "  category      stored {:<20} would be {}",
            show(&row.stored_category),
            show(&row.category)
        );
        println!(
            "  assignee      stored {:<20} would route to {}",
            show(&row.stored_assignee),
            show(&row.route)
        );
        println!(
            "  auto-resolve  stored {:<20} would be {}",
            row.stored_auto_resolved, row.auto_resolve
        );
        let would: Vec<String> = row
            .milestones
            .iter()
            .map(|(name, due)| format!("{name} due {}", due.format("%Y-%m-%d %H:%M UTC")))
            .collect();
        println!(
            "  milestones    stored {:<20} would be {}",
            if row.stored_milestones.is_empty() {
                "-".into()
            } else {
                row.stored_milestones.join(", ")
            },
            if would.is_empty() {
                "-".into()
            } else {
                would.join(", ")
            }
        );
    }
    let failures = host.recent_failures();
    for failure in failures.iter().rev() {
        eprintln!("hook failure: {}", failure.error);
    }
    println!("Replayed {} case(s); nothing was changed.", rows.len());
    Ok(())
}

/// The password from stdin, or a random one that is printed.
fn read_password(input: &PasswordInput) -> Result<(String, bool), String> {
    if !input.password_stdin {
        return Ok((crate::service::random_password(), true));
    }
    if std::io::stdin().is_terminal() {
        eprintln!("Password (one line, then Enter):");
    }
    let mut text = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = text.lines().next().unwrap_or("").to_owned();
    Ok((password, false))
}

async fn user_command(service: Service, command: UserCommand) -> Result<(), String> {
    let operator = Service::operator();
    match command {
        UserCommand::Add {
            username,
            role,
            email,
            display_name,
            password,
        } => {
            let role = Role::parse("role", &role).map_err(|e| e.to_string())?;
            let (password, generated) = read_password(&password)?;
            let new = NewUser {
                username,
                password: password.clone(),
                display_name,
                email,
                role,
            };
            let user = service
                .create_user(&operator, new)
                .await
                .map_err(|e| e.to_string())?;
            println!("Created {} '{}'.", user.role, user.username);
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::List => {
            let users = service.list_users(&operator).map_err(|e| e.to_string())?;
            println!(
                "{:<24} {:<8} {:<32} DISPLAY NAME",
                "USERNAME", "ROLE", "EMAIL"
            );
            for user in users {
                println!(
                    "{:<24} {:<8} {:<32} {}",
                    user.username,
                    user.role,
                    user.email.as_deref().unwrap_or("-"),
                    user.display_name
                );
            }
        }
        UserCommand::Passwd { username, password } => {
            let (password, generated) = read_password(&password)?;
            service
                .set_password(&operator, &username, password.clone(), None)
                .await
                .map_err(|e| e.to_string())?;
            println!("Password of '{username}' changed.");
            if generated {
                println!("password: {password}");
            }
        }
    }
    Ok(())
}

async fn token_command(service: Service, command: TokenCommand) -> Result<(), String> {
    match command {
        TokenCommand::Create {
            user,
            label,
            expires_days,
        } => {
            let issued = service
                .issue_api_token(&user.to_lowercase(), &label, expires_days)
                .await
                .map_err(|e| format!("{e} (create it with `docket user add {user}`)"))?;
            println!("{}", issued.token);
            if let Some(at) = issued.expires_at {
                eprintln!("The token expires at {}.", at.to_rfc3339());
            }
        }
    }
    Ok(())
}

async fn channel_command(service: Service, command: ChannelCommand) -> Result<(), String> {
    let operator = Service::operator();
    match command {
        ChannelCommand::Add {
            name,
            email,
            time_tracking,
            reply_window_hours,
            members,
        } => {
            let mut parsed = Vec::new();
            for member in &members {
                let (user, role) = member.split_once(':').unwrap_or((member, "agent"));
                let role = MemberRole::parse("member", role).map_err(|e| e.to_string())?;
                parsed.push((user.to_lowercase(), role));
            }
            let settings = ChannelSettings {
                time_tracking,
                reply_window_hours,
                slack_webhook_url: None,
                ..Default::default()
            };
            let channel = service
                .create_channel(
                    &operator,
                    NewChannel {
                        name,
                        email_address: email,
                        settings,
                        imap: None,
                        integrations: Default::default(),
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            for (user, role) in parsed {
                service
                    .put_member(&operator, channel.id, &user, role)
                    .await
                    .map_err(|e| format!("channel {} created, but {e}", channel.id))?;
            }
            println!("Created channel {} '{}'.", channel.id, channel.name);
        }
    }
    Ok(())
}

/// Asks a running server to rebuild its index.
async fn reindex_remote(url: &str, token: Option<&str>) -> Result<(), String> {
    let token = token.ok_or("pass an administrator's API token with --token or DOCKET_TOKEN")?;
    let endpoint = format!("{}/api/v1/admin/reindex", url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&endpoint)
        .bearer_auth(token)
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| format!("cannot reach the server at {url}: {e}"))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let detail = body["detail"].as_str().unwrap_or("no detail").to_owned();
    if status.is_success() {
        println!("{detail}");
        Ok(())
    } else {
        Err(format!("the server refused ({status}): {detail}"))
    }
}

/// Rebuilds the index of a data directory no server is using.
async fn reindex_offline(file: FileConfig, data: Option<PathBuf>) -> Result<(), String> {
    let config = file.resolve(data, None).map_err(|e| e.to_string())?;
    let store = Store::open(&config.data_dir).map_err(|e| {
        format!("{e}\nTo rebuild a running server's index, pass --url URL --token TOKEN.")
    })?;
    let language = crate::search::language(&config.search.language)
        .ok_or("search.language is not supported")?;
    let dir = config.data_dir.join("index");
    let (index, _) = crate::search::SearchIndex::open(&dir, language).map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let cases = crate::search::indexer::rebuild_from_store(Arc::new(index), store.clone())
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Rebuilt the search index: {cases} cases in {:.1} s.",
        started.elapsed().as_secs_f64()
    );
    let started = std::time::Instant::now();
    let cases = crate::service::reports::rebuild_reports(&store, config.reports.zone())
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Rebuilt the report figures: {cases} cases in {:.1} s.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Loads an archive into a stopped server's data directory.
/// `docket import-mail`: every message of the mailbox, oldest first, with
/// progress on stderr and a summary at the end.
/// Where `docket import-mail` reads from.
enum MailSource {
    Mbox(PathBuf),
    Maildir(PathBuf),
    Imap(Box<crate::domain::channel::ImapSettings>),
}

async fn import_mail(service: Service, channel: &str, source: MailSource) -> Result<(), String> {
    let wanted = channel.trim();
    let channel = {
        let channels = service
            .list_channels(&Service::operator())
            .map_err(|e| e.to_string())?;
        channels
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(wanted))
            .or_else(|| channels.iter().find(|c| c.id.to_string() == wanted))
            .map(|c| c.id)
            .ok_or_else(|| format!("no channel named {wanted}"))?
    };
    let started = std::time::Instant::now();
    let limit = service.config().mail.max_message_bytes;
    let messages = match source {
        MailSource::Mbox(path) => {
            tokio::task::spawn_blocking(move || crate::mail::mailbox::mbox(&path)).await
        }
        MailSource::Maildir(path) => {
            tokio::task::spawn_blocking(move || crate::mail::mailbox::maildir(&path)).await
        }
        MailSource::Imap(settings) => Ok(crate::mail::mailbox::imap(&settings, limit).await),
    }
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let total = messages.len();
    let (mut opened, mut threaded, mut duplicates) = (0usize, 0usize, 0usize);
    let mut set_aside: Vec<(usize, String)> = Vec::new();
    for (position, message) in messages.into_iter().enumerate() {
        match service.take_in_migrated_mail(channel, message.raw).await {
            Ok(receipt) if receipt.duplicate => duplicates += 1,
            Ok(receipt) if receipt.created => opened += 1,
            Ok(_) => threaded += 1,
            Err(e) => set_aside.push((position + 1, e.to_string())),
        }
        let done = position + 1;
        if done.is_multiple_of(250) || done == total {
            eprint!("\rtaken in {done} of {total} messages");
        }
    }
    if total > 0 {
        eprintln!();
    }
    service
        .forget_migrated_news()
        .await
        .map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{total} messages in {seconds:.1} s ({:.0}/s): {opened} opened a case, {threaded} joined one, {duplicates} were already here, {} set aside.",
        total as f64 / seconds.max(0.001),
        set_aside.len()
    );
    for (position, reason) in set_aside.iter().take(20) {
        println!("  message {position}: {reason}");
    }
    if set_aside.len() > 20 {
        println!("  ... and {} more", set_aside.len() - 20);
    }
    Ok(())
}

async fn import_archive(config: Config, archive: &std::path::Path) -> Result<(), String> {
    let store = Store::open(&config.data_dir).map_err(|e| e.to_string())?;
    let language = crate::search::language(&config.search.language)
        .ok_or("search.language is not supported")?;
    let (index, _) = crate::search::SearchIndex::open(&config.data_dir.join("index"), language)
        .map_err(|e| e.to_string())?;
    let report = crate::archive::import::import_path(store, Arc::new(index), archive)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Imported {} cases, {} users and {} channels in {:.1} s ({:.0} cases/s).",
        report.cases,
        report.users,
        report.channels,
        report.seconds,
        report.cases as f64 / report.seconds.max(0.001)
    );
    if report.users > 0 {
        println!("Imported users have no password yet: set one with `docket user passwd NAME`.");
    }
    Ok(())
}
