//! The Jira Service Management edge: its REST client ([`api`]), its signed webhook
//! ([`webhook`]), and the probe the admin use cases check a connection with.

pub mod api;
pub mod webhook;

use futures_util::future::BoxFuture;

use crate::admin::jira::{Connection, Probed, ServiceDeskProbe};
use api::JiraApi;

/// Asks Jira about a connection with deskhand's shared HTTP client.
#[derive(Clone)]
pub struct JiraProbe {
    http: reqwest::Client,
}

impl JiraProbe {
    pub fn new(http: reqwest::Client) -> Self {
        Self { http }
    }

    pub fn client(&self, connection: &Connection) -> JiraApi {
        JiraApi::new(
            self.http.clone(),
            &connection.site_url,
            &connection.email,
            connection.token.clone(),
        )
    }
}

impl ServiceDeskProbe for JiraProbe {
    fn probe<'a>(&'a self, connection: &'a Connection) -> BoxFuture<'a, Probed> {
        Box::pin(async move {
            let api = self.client(connection);
            let said = |e: api::JiraError| e.to_string();
            let account = api.myself().await.map(|a| (a.account_id, a.display_name)).map_err(said);
            let service_desk = api
                .service_desk(&connection.service_desk_id)
                .await
                .map(|d| d.project_key)
                .map_err(said);
            let request_types = api
                .request_types(&connection.service_desk_id)
                .await
                .map(|types| types.into_iter().map(|t| (t.id, t.name)).collect())
                .map_err(said);
            let priorities = api.priorities().await.map_err(said);
            let fields = api
                .request_type_fields(&connection.service_desk_id, &connection.request_type_id)
                .await
                .map(|f| {
                    let ids = f.request_type_fields.into_iter().map(|f| f.field_id).collect();
                    (ids, f.can_raise_on_behalf_of)
                })
                .map_err(said);
            Probed {
                account,
                service_desk,
                request_types,
                priorities,
                fields,
            }
        })
    }
}
