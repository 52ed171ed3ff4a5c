use std::process::ExitCode;

use clap::Parser;
use mch_handbook::{
    cli::{self, Cli, Command},
    config::Settings,
    openapi,
    startup::Application,
    telemetry,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Migrate => {
            cli::admin::open_database(&settings).map(|_| println!("migrations applied"))
        }
        Command::Openapi => {
            print!("{}", openapi::document_json());
            Ok(())
        }
        Command::Admin(command) => cli::admin::run(&settings, command),
        Command::Demo { force } => cli::demo::run(&settings, force),
        Command::Backup { file } => cli::backup::backup(&settings, &file)
            .map(|s| print!("backup written to {}\n{s}", file.display())),
        Command::Restore {
            file,
            force,
            check_only,
        } => if check_only {
            cli::backup::check(&file)
        } else {
            cli::backup::restore(&settings, &file, force)
        }
        .map(|s| print!("{s}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let bind = settings.bind.clone();
        let backend = mch_handbook::db::Backend::from_url(&settings.database_url);
        // One server per SQLite database, held until the process ends (db::files).
        let _lock = mch_handbook::db::sqlite_file(&settings.database_url)
            .map(|file| mch_handbook::db::files::ServerLock::acquire(&file))
            .transpose()?;
        let app = Application::build(settings).map_err(|e| e.to_string())?;
        let port = app.port();
        tracing::info!(%bind, port, ?backend, "serving; Ctrl-C or SIGTERM stops gracefully");
        app.run_until_stopped().await.map_err(|e| e.to_string())?;
        tracing::info!("stopped");
        Ok(())
    })
}
