//! `mch-handbook admin …`: the same service functions as the API, run as the `system` actor.

use std::io::{BufRead, IsTerminal};

use super::AdminCommand;
use crate::{
    audit::{Actor, Event},
    auth::{password, Role},
    config::Settings,
    db::{self, write_tx, DbConn},
    error::AppError,
    http::RequestCtx,
    org::{institutions, region_import as regions_import, regions, staff},
};

/// The problems that stopped an import (each on its own line).
struct ImportError(Vec<String>);

impl From<diesel::result::Error> for ImportError {
    fn from(e: diesel::result::Error) -> Self {
        ImportError(vec![format!("database: {e}")])
    }
}

pub fn open_database(settings: &Settings) -> Result<DbConn, String> {
    let mut conn = db::establish(&settings.database_url).map_err(|e| e.to_string())?;
    db::run_migrations(&mut conn).map_err(|e| e.to_string())?;
    Ok(conn)
}

fn describe(e: AppError) -> String {
    match e {
        AppError::Validation(errors) => errors
            .iter()
            .map(|e| format!("{} {}: {}", e.field, e.code, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn read_password() -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let second = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != second {
            return Err("the passwords differ".into());
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

pub fn run(settings: &Settings, command: AdminCommand) -> Result<(), String> {
    let mut conn = open_database(settings)?;
    let ctx = RequestCtx::system();
    match command {
        AdminCommand::Create {
            username,
            institution,
            full_name,
            roles,
        } => {
            let input = staff::NewStaff {
                full_name: full_name.unwrap_or_else(|| username.clone()),
                username,
                password: read_password()?,
                phone: None,
                institution_id: institution,
                roles: if roles.is_empty() {
                    vec![Role::SystemAdmin]
                } else {
                    roles
                },
            };
            crate::http::extract::validate(&input).map_err(describe)?;
            let hash = password::hash(&input.password).map_err(|e| e.to_string())?;
            let created = write_tx(&mut conn, |c| {
                let created = staff::create(c, &input, &hash)?;
                Event::new(Actor::system(), "staff.create", "staff")
                    .resource(&created.id)
                    .county(&created.county_code)
                    .record(c, &ctx)?;
                Ok::<_, AppError>(created)
            })
            .map_err(describe)?;
            println!(
                "created staff account {} ({})",
                created.username, created.id
            );
        }
        AdminCommand::ImportRegions { file } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let rows = regions_import::parse(&text).map_err(|p| p.join("\n"))?;
            let done = write_tx(&mut conn, |c| {
                let done = regions_import::import(c, &rows).map_err(ImportError)?;
                Event::new(Actor::system(), "region.import", "region")
                    .detail(serde_json::json!({
                        "file": file.display().to_string(),
                        "created": done.created,
                        "unchanged": done.unchanged,
                    }))
                    .record(c, &ctx)
                    .map_err(|e| ImportError(vec![e.to_string()]))?;
                Ok::<_, ImportError>(done)
            })
            .map_err(|e| e.0.join("\n"))?;
            println!(
                "imported {} regions ({} already present and unchanged)",
                done.created, done.unchanged
            );
        }
        AdminCommand::AddRegion {
            code,
            name,
            elevation,
        } => {
            let input = regions::NewRegion {
                code,
                name,
                elevation_m: elevation,
            };
            crate::http::extract::validate(&input).map_err(describe)?;
            let region = write_tx(&mut conn, |c| {
                let region = regions::create(c, &input)?;
                Event::new(Actor::system(), "region.create", "region")
                    .resource(&region.code)
                    .record(c, &ctx)?;
                Ok::<_, AppError>(region)
            })
            .map_err(describe)?;
            println!(
                "created region {} {} ({})",
                region.code,
                region.name,
                region.level.as_str()
            );
        }
        AdminCommand::AddInstitution {
            name,
            level,
            region,
        } => {
            let input = institutions::NewInstitution {
                name,
                level,
                region_code: region,
            };
            crate::http::extract::validate(&input).map_err(describe)?;
            let inst = write_tx(&mut conn, |c| {
                let inst = institutions::create(c, &input)?;
                Event::new(Actor::system(), "institution.create", "institution")
                    .resource(&inst.id)
                    .record(c, &ctx)?;
                Ok::<_, AppError>(inst)
            })
            .map_err(describe)?;
            println!("{}", inst.id);
        }
    }
    Ok(())
}
