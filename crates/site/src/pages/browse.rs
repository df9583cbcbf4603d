use hubapi::views::CategoryCount;
use hubapi::{ListQuery, TorrentList};
use maud::{Markup, html};

use crate::Ctx;
use crate::format;
use crate::layout::{self, Nav};

/// The hub's page size when the query names none (`store::list_torrents`), and its cap.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// The index: a search form, the matching torrents, and a pager.
pub fn browse(
    ctx: &Ctx,
    list: &TorrentList,
    query: &ListQuery,
    categories: &[CategoryCount],
) -> String {
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let category = query.category.as_deref().filter(|c| !c.is_empty());
    let all: u64 = categories.iter().map(|c| c.torrents).sum();
    let title = match (q, category) {
        (Some(q), _) => format!("“{q}”"),
        (None, Some(c)) => c.to_string(),
        (None, None) => "Browse".to_string(),
    };
    let body = html! {
        div.page-head {
            div {
                h1 {
                    @if let Some(q) = q { "Results for “" (q) "”" }
                    @else if let Some(c) = category { (c) }
                    @else { "Browse torrents" }
                }
                p.lead {
                    (format::count(list.total)) @if list.total == 1 { " torrent" } @else { " torrents" }
                    @if let Some(c) = category { " in " (c) }
                    @if q.is_some() { " match your search" }
                }
            }
        }
        form.search.panel method="get" action="/torrents" role="search" {
            input #search type="search" name="q" value=[q] placeholder="Search names and descriptions…" aria-label="Search torrents" autocomplete="off";
            select name="category" aria-label="Category" {
                option value="" selected[category.is_none()] { "All categories (" (format::count(all)) ")" }
                @for c in categories {
                    option value=(c.name) selected[category == Some(c.name.as_str())] {
                        (c.name) " (" (format::count(c.torrents)) ")"
                    }
                }
            }
            button.btn.btn-primary type="submit" { "Search" }
        }
        @if !categories.is_empty() {
            nav.pills aria-label="Categories" {
                a.pill.on[category.is_none()] href=(list_url(q, None, 0)) { "All" span.count { (format::count(all)) } }
                @for c in categories {
                    a.pill.on[category == Some(c.name.as_str())] href=(list_url(q, Some(&c.name), 0)) {
                        (c.name) span.count { (format::count(c.torrents)) }
                    }
                }
            }
        }
        section.panel.flush.section {
            @if list.torrents.is_empty() && list.total > 0 {
                div.empty {
                    h2 { "Nothing on this page" }
                    p { "The search found " (format::count(list.total)) " torrents; this page is past the last of them. "
                        a href="/torrents" { "Back to the first page" } "." }
                }
            } @else if list.torrents.is_empty() {
                div.empty {
                    h2 {
                        "No torrents match "
                        @match (q, category) {
                            (Some(q), Some(c)) => { "“" (q) "” in " (c) }
                            (Some(q), None) => { "“" (q) "”" }
                            (None, Some(c)) => { "the category " (c) }
                            (None, None) => { "yet" }
                        }
                    }
                    @if q.is_some() || category.is_some() {
                        p { "Try fewer words, another category, or " a href="/torrents" { "browse everything" } "." }
                    } @else {
                        p { "The index is empty: members publish torrents with " code { "seedbank publish" } "." }
                    }
                }
            } @else {
                (results(ctx, list))
                (pager(list, query, q, category))
            }
        }
    };
    layout::page(ctx, &title, Nav::Browse, body)
}

fn results(ctx: &Ctx, list: &TorrentList) -> Markup {
    html! {
        div.table-wrap {
            table #results {
                thead {
                    tr {
                        th { "Name" }
                        th.hide-sm { "Category" }
                        th.num { "Size" }
                        th.num.hide-sm { "Files" }
                        th.num title="Seeders" { "Seed" }
                        th.num title="Leechers" { "Leech" }
                        th.num.hide-sm title="Members who completed it" { "Snatched" }
                        th.num { "Added" }
                    }
                }
                tbody {
                    @for t in &list.torrents {
                        tr {
                            td.name-cell {
                                a.torrent-link href=(format!("/torrents/{}", t.id)) { (t.name) }
                                @if !t.description.is_empty() { div.desc { (t.description) } }
                            }
                            td.hide-sm {
                                a.pill href=(list_url(None, Some(&t.category), 0)) { (t.category) }
                            }
                            td.num { (format::bytes(t.size)) }
                            td.num.hide-sm { (format::count(u64::from(t.file_count))) }
                            td.num { (layout::count_cell(u64::from(t.seeders), "seed")) }
                            td.num { (layout::count_cell(u64::from(t.leechers), "leech")) }
                            td.num.hide-sm { (format::count(t.snatches)) }
                            td.num.muted { (layout::ago(ctx, t.created_at)) }
                        }
                    }
                }
            }
        }
    }
}

fn pager(list: &TorrentList, query: &ListQuery, q: Option<&str>, category: Option<&str>) -> Markup {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let offset = query.offset.unwrap_or(0);
    let shown = list.torrents.len() as u64;
    let first = u64::from(offset) + 1;
    let last = u64::from(offset) + shown;
    let prev = (offset > 0).then(|| offset.saturating_sub(limit));
    let next = (last < list.total).then(|| offset.saturating_add(limit));
    // A non-default page size must survive paging.
    let with_limit = |url: String| match query.limit {
        Some(l) if l != DEFAULT_LIMIT => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}limit={l}")
        }
        _ => url,
    };
    html! {
        div.pager {
            span { "Showing " (format::count(first)) "–" (format::count(last)) " of " (format::count(list.total)) }
            nav aria-label="Pages" {
                @match prev {
                    Some(p) => { a.btn.btn-sm href=(with_limit(list_url(q, category, p))) rel="prev" { "← Previous" } }
                    None => { span.btn.btn-sm.disabled { "← Previous" } }
                }
                @match next {
                    Some(n) => { a.btn.btn-sm href=(with_limit(list_url(q, category, n))) rel="next" { "Next →" } }
                    None => { span.btn.btn-sm.disabled { "Next →" } }
                }
            }
        }
    }
}

/// `/torrents?q=&category=&offset=` with only the parts that are set.
fn list_url(q: Option<&str>, category: Option<&str>, offset: u32) -> String {
    let mut parts = Vec::new();
    if let Some(q) = q {
        parts.push(format!("q={}", layout::query_escape(q)));
    }
    if let Some(c) = category {
        parts.push(format!("category={}", layout::query_escape(c)));
    }
    if offset > 0 {
        parts.push(format!("offset={offset}"));
    }
    if parts.is_empty() {
        "/torrents".to_string()
    } else {
        format!("/torrents?{}", parts.join("&"))
    }
}
