//! The command line: `serve` (default), `migrate`, `openapi`, `admin …`, `demo`, `backup`,
//! `restore`.

pub mod admin;
pub mod backup;
pub mod demo;

use clap::{Parser, Subcommand};

use crate::org::rules::InstitutionLevel;

#[derive(Debug, Parser)]
#[command(
    name = "mch-handbook",
    version,
    about = "Electronic Mother-Child Health Handbook backend"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default). Configuration comes from the environment; see README.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document (JSON) to standard output.
    Openapi,
    /// Administration without the API (first system administrator, regions, institutions).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Load a small fictional demo county; refuses a non-empty database unless --force.
    Demo {
        /// Load even if the database already holds institutions or staff (demo rows are reused).
        #[arg(long)]
        force: bool,
    },
    /// Copy the SQLite database to a new file while the server runs, and check the copy.
    /// (PostgreSQL: use pg_dump.)
    Backup {
        /// The backup file to write (must not exist).
        file: std::path::PathBuf,
    },
    /// Check a backup and put it in place of the configured SQLite database (stop the server
    /// first). With --check-only, only check it.
    Restore {
        file: std::path::PathBuf,
        /// Replace an existing database (kept beside it as *.before-restore).
        #[arg(long)]
        force: bool,
        /// Check the backup, change nothing.
        #[arg(long)]
        check_only: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a staff account. The password is prompted for, or read from standard input.
    Create {
        #[arg(long)]
        username: String,
        /// Institution id.
        #[arg(long)]
        institution: String,
        /// Full name (defaults to the username).
        #[arg(long)]
        full_name: Option<String>,
        /// Role to grant; repeat for several (default: system_admin).
        #[arg(long = "role", value_parser = parse_role)]
        roles: Vec<crate::auth::Role>,
    },
    /// Add a region (its parent must exist; a province needs none).
    AddRegion {
        /// 12-digit statistical division code.
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// Elevation in metres.
        #[arg(long)]
        elevation: Option<i32>,
    },
    /// Load regions from a CSV file (header code,name,parent,elevation): checked as a whole
    /// first, every bad row listed, nothing written unless all are good.
    ImportRegions {
        /// The CSV file (UTF-8; a spreadsheet's BOM is fine).
        file: std::path::PathBuf,
    },
    /// Add an institution; prints its id.
    AddInstitution {
        #[arg(long)]
        name: String,
        /// village_clinic, township_centre, county_hospital, city_hospital, mch_centre, critical_care_centre
        #[arg(long, value_parser = parse_level)]
        level: InstitutionLevel,
        /// 12-digit region code.
        #[arg(long)]
        region: String,
    },
}

fn parse_role(s: &str) -> Result<crate::auth::Role, String> {
    crate::auth::Role::parse(s).ok_or_else(|| format!("unknown role {s}"))
}

fn parse_level(s: &str) -> Result<InstitutionLevel, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| format!("unknown level {s}"))
}
