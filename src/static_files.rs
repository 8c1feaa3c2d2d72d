//! The stylesheet, script and icon are compiled into the binary, so a release binary is the
//! whole product. They are cached by browsers for a day and revalidated by ETag.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../static/app.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/app.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../static/favicon.svg"),
    },
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/{name}", web::get().to(serve));
}

async fn serve(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name.as_str()) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("Not found");
    };
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(asset.body))[..16]);
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((header::ETAG, etag));
    if matches {
        response.finish()
    } else {
        response.content_type(asset.content_type).body(asset.body)
    }
}

#[cfg(test)]
mod tests {
    /// The value of a `--name: #rrggbb;` variable in app.css.
    fn variable(css: &str, name: &str) -> String {
        let start = css
            .find(&format!("--{name}:"))
            .unwrap_or_else(|| panic!("--{name} in app.css"));
        let rest = &css[start + name.len() + 3..];
        rest[..rest.find(';').unwrap()].trim().to_string()
    }

    fn luminance(hex: &str) -> f64 {
        let hex = hex.trim_start_matches('#');
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    /// Every text colour of the stylesheet on the backgrounds it is used on reaches WCAG AA
    /// for normal text (4.5:1).
    #[test]
    fn text_colours_meet_wcag_aa() {
        let css = String::from_utf8(include_bytes!("../static/app.css").to_vec()).unwrap();
        let v = |name: &str| variable(&css, name);
        let pairs = [
            ("ink on paper", v("ink"), v("paper")),
            ("ink on canvas", v("ink"), v("canvas")),
            ("muted on paper", v("muted"), v("paper")),
            ("muted on canvas", v("muted"), v("canvas")),
            ("navigation", v("brand-ink"), v("brand")),
            ("Available / Managed", v("ok"), v("ok-bg")),
            ("Unmanaged / Resetting", v("warn"), v("warn-bg")),
            ("Out of sync / Denied", v("danger"), v("danger-bg")),
            ("Pending / info", v("info"), v("info-bg")),
            ("Disabled / Expired", v("muted"), "#eceff3".to_string()),
            ("unread badge", v("ink"), "#f2a900".to_string()),
            ("links", v("brand"), v("paper")),
        ];
        for (what, fg, bg) in pairs {
            let ratio = contrast(&fg, &bg);
            assert!(ratio >= 4.5, "{what}: {fg} on {bg} is {ratio:.2}:1");
        }
    }
}
