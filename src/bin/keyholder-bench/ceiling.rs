//! The ceiling: the least a Keyholder page can cost. Same shape as `keyholder serve` — a tokio
//! runtime, actix-web's `HttpServer` with the configured number of workers, the same
//! `Database` (r2d2 pool of the configured size, connections set up the same way, the read
//! made as a page makes a read of one statement: `Database::read_statement`) — and one handler
//! that reads one row and returns a tiny page. No session, no template, no middleware: what the
//! framework and the database can do at all.

use actix_web::{App, HttpResponse, HttpServer, web};
use diesel::prelude::*;
use keyholder::config::Config;
use keyholder::db::Database;
use keyholder::schema::users;
use serde::Deserialize;

#[derive(Deserialize)]
struct Query {
    id: i64,
}

async fn one_row(db: web::Data<Database>, query: web::Query<Query>) -> HttpResponse {
    let id = query.id;
    let name = db
        .read_statement(move |conn| {
            users::table
                .find(id)
                .select(users::name)
                .first::<String>(conn)
                .optional()
                .map_err(anyhow::Error::from)
        })
        .await;
    match name {
        Ok(Some(name)) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(format!(
                "<!doctype html><title>ceiling</title><p>{name}</p>"
            )),
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(error) => HttpResponse::InternalServerError().body(format!("{error:#}")),
    }
}

/// `keyholder-bench ceiling`: reads the same environment as `keyholder serve`.
pub fn serve() -> anyhow::Result<()> {
    let vars: std::collections::HashMap<String, String> = std::env::vars().collect();
    let config = Config::from_vars(&vars)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let url = config.database.clone();
        let (size, cache_mb) = (config.database_pool_size, config.sqlite_cache_mb);
        let db =
            tokio::task::spawn_blocking(move || Database::open_with_cache(&url, size, cache_mb))
                .await??;
        let data = web::Data::new(db);
        HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/ceiling", web::get().to(one_row))
        })
        .workers(config.workers)
        .bind(config.listen)?
        .run()
        .await?;
        Ok(())
    })
}
