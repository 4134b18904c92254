//! The bench's HTTP client: the API as an admin sees it, timed requests
//! and throughput at a concurrency.

use super::*;

pub(super) struct Api {
    pub(super) http: reqwest::Client,
    pub(super) base: String,
    pub(super) token: String,
}

impl Api {
    /// Signs `username` in on the server at `base`.
    pub(super) async fn sign_in(
        http: reqwest::Client,
        base: &str,
        username: &str,
    ) -> Result<Api, String> {
        let login: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let token = login["token"]
            .as_str()
            .ok_or_else(|| format!("{username} could not sign in to the bench server"))?;
        Ok(Api {
            http,
            base: base.to_owned(),
            token: token.to_owned(),
        })
    }

    pub(super) async fn get(&self, path: &str) -> Result<Value, String> {
        self.send(self.http.get(format!("{}{path}", self.base)), path)
            .await
    }

    pub(super) async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        let request = self.http.post(format!("{}{path}", self.base)).json(&body);
        self.send(request, path).await
    }

    pub(super) async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Value, String> {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        self.send(request, path).await
    }

    /// Sends with the token; a non-2xx answer is an error naming `path`.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
        path: &str,
    ) -> Result<Value, String> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("{path}: {status}: {body}"))
        }
    }
}

pub(super) async fn timed_get(api: &Api, query: &str) -> Result<Duration, String> {
    let started = Instant::now();
    api.get(&format!("/api/v1/cases?limit=25&facets=false&{query}"))
        .await?;
    Ok(started.elapsed())
}

pub(super) async fn measure_http(
    api: &Api,
    query: &str,
    rounds: usize,
) -> Result<Latencies, String> {
    timed_get(api, query).await?;
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        samples.push(timed_get(api, query).await?);
    }
    Ok(Latencies(samples))
}

/// Requests per second with `workers` running the query `total` times.
pub(super) async fn throughput(
    api: Arc<Api>,
    query: String,
    workers: usize,
    total: usize,
) -> Result<f64, String> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let api = api.clone();
        let query = query.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..total / workers {
                timed_get(&api, &query).await?;
            }
            Ok::<_, String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}
