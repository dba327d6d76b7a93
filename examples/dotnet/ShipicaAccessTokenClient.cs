// Shipica SP-API seller authorization: asking the service for an SP-API access token (docs/oxwebapp.md,
// "Access tokens"). A drop-in file: the base class library only; compiles as C# 7 (Mono's mcs) and on .NET 8+.
using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net.Http;
using System.Runtime.Serialization.Json;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using System.Xml;

namespace Shipica.SpApiAuth
{
    /// <summary>An LWA access token for one seller, as the service answered it. Send it as <c>x-amz-access-token</c>.</summary>
    public sealed class ShipicaAccessToken
    {
        /// <summary>Takes the fields of the service's answer.</summary>
        /// <param name="accessToken">The token (<c>Atza|...</c>).</param>
        /// <param name="tokenType">Always <c>bearer</c>.</param>
        /// <param name="expiresAt">When LWA said it expires.</param>
        /// <param name="customerId">The customer it belongs to.</param>
        /// <param name="sellingPartnerId">The seller it belongs to.</param>
        /// <param name="scope">The credential: NA, EU, or JP, AU, SG in the Far East.</param>
        /// <param name="region">NA, EU or FE.</param>
        public ShipicaAccessToken(string accessToken, string tokenType, DateTimeOffset expiresAt, string customerId, string sellingPartnerId, string scope, string region)
        {
            AccessToken = accessToken;
            TokenType = tokenType;
            ExpiresAt = expiresAt;
            CustomerId = customerId;
            SellingPartnerId = sellingPartnerId;
            Scope = scope;
            Region = region;
        }

        /// <summary>The token, for the <c>x-amz-access-token</c> header of every SP-API request. Never log it.</summary>
        public string AccessToken { get; }

        /// <summary>Always <c>bearer</c>.</summary>
        public string TokenType { get; }

        /// <summary>When LWA said the token expires (about an hour after it was made).</summary>
        public DateTimeOffset ExpiresAt { get; }

        /// <summary>The customer the token belongs to.</summary>
        public string CustomerId { get; }

        /// <summary>The seller (selling partner id) the token belongs to.</summary>
        public string SellingPartnerId { get; }

        /// <summary>
        /// The credential the token was made from: NA or EU (one per region), or JP, AU, SG (the Far East is
        /// authorized per marketplace).
        /// </summary>
        public string Scope { get; }

        /// <summary>The SP-API region the token is for (its endpoint): NA, EU or FE.</summary>
        public string Region { get; }

        /// <summary>Whom the token is for and until when; never the token itself, so logging it is safe.</summary>
        /// <returns>A description without the token.</returns>
        public override string ToString()
        {
            return "access token for customer " + CustomerId + " (" + SellingPartnerId + ", " + Scope + "), expires " +
                ExpiresAt.ToString("o", CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The service's refusal: an HTTP status other than 2xx, with the error code of its JSON answer.</summary>
    public sealed class ShipicaAccessTokenException : Exception
    {
        /// <summary>Takes what the service answered.</summary>
        /// <param name="statusCode">The HTTP status.</param>
        /// <param name="error">The <c>error</c> code, or an empty string when the answer was not the service's JSON.</param>
        /// <param name="message">The service's <c>message</c>, or a description of what came back.</param>
        /// <param name="retryAfter">The <c>Retry-After</c> of the answer, when it had one.</param>
        public ShipicaAccessTokenException(int statusCode, string error, string message, TimeSpan? retryAfter)
            : base("Shipica access token: HTTP " + statusCode.ToString(CultureInfo.InvariantCulture) + (string.IsNullOrEmpty(error) ? "" : " " + error) + ": " + message)
        {
            StatusCode = statusCode;
            Error = error ?? "";
            RetryAfter = retryAfter;
        }

        /// <summary>The HTTP status: 400, 404, 409, 500 or 503 from the service itself (401 or 403 for a wrong function key).</summary>
        public int StatusCode { get; }

        /// <summary>
        /// The service's error code (docs/oxwebapp.md, "Errors"): <c>not_authorized</c>, <c>authorization_revoked</c>
        /// (the seller must authorize again), <c>region_required</c>, <c>lwa_unavailable</c>, ...; empty when the
        /// answer was not the service's JSON (a wrong function key, a proxy's page).
        /// </summary>
        public string Error { get; }

        /// <summary>How long to wait before asking again, when the answer said (503s).</summary>
        public TimeSpan? RetryAfter { get; }
    }

    /// <summary>
    /// Asks the service for access tokens: <c>POST /api/customers/{customerId}/access-token</c> and
    /// <c>POST /api/sellers/{sellingPartnerId}/access-token</c>, with the function key in <c>x-functions-key</c>.
    /// The service caches and refreshes the tokens; ask it before each SP-API call (or keep a token until shortly
    /// before <see cref="ShipicaAccessToken.ExpiresAt"/>). Thread-safe when the <see cref="HttpClient"/> is shared.
    /// </summary>
    public sealed class ShipicaAccessTokenClient
    {
        readonly HttpClient http;
        readonly string baseUrl;
        readonly string functionKey;

        /// <summary>Takes the shared <see cref="HttpClient"/> and where the service is.</summary>
        /// <param name="http">One instance for the application (or one from <c>IHttpClientFactory</c>).</param>
        /// <param name="baseUrl">The service's address, e.g. <c>https://&lt;function-app&gt;.azurewebsites.net</c>.</param>
        /// <param name="functionKey">A function key of the app (keep it in Key Vault); null or empty for a local host, which needs none.</param>
        public ShipicaAccessTokenClient(HttpClient http, string baseUrl, [AllowNull] string functionKey)
        {
            if (http == null) throw new ArgumentNullException(nameof(http));
            if (baseUrl == null) throw new ArgumentNullException(nameof(baseUrl));
            this.http = http;
            this.baseUrl = baseUrl.TrimEnd('/');
            this.functionKey = functionKey ?? "";
        }

        /// <summary>An access token for a customer's seller.</summary>
        /// <param name="customerId">oxWebApp's customer id.</param>
        /// <param name="marketplace">
        /// Any marketplace code (US, DE, JP, AU, SG, ...): it names the credential (DE names the EU one; JP, AU and SG are
        /// each their own). Null or empty when the customer has one credential only.
        /// </param>
        /// <param name="refresh">True after SP-API refused the token you had (401 or 403): skips the cached token.</param>
        /// <param name="cancellationToken">Cancels the request.</param>
        /// <returns>The token.</returns>
        /// <exception cref="ShipicaAccessTokenException">The service refused (not authorized, revoked, unavailable, ...).</exception>
        public Task<ShipicaAccessToken> GetForCustomerAsync(string customerId, [AllowNull] string marketplace, bool refresh = false,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            if (customerId == null) throw new ArgumentNullException(nameof(customerId));
            return RequestAsync("/api/customers/" + Uri.EscapeDataString(customerId) + "/access-token", marketplace, refresh, cancellationToken);
        }

        /// <summary>An access token for a seller, named by its selling partner id.</summary>
        /// <param name="sellingPartnerId">Amazon's selling partner id (e.g. <c>A3EXAMPLE</c>).</param>
        /// <param name="marketplace">Any marketplace code, naming the credential; null or empty when the seller has one only.</param>
        /// <param name="refresh">True after SP-API refused the token you had (401 or 403): skips the cached token.</param>
        /// <param name="cancellationToken">Cancels the request.</param>
        /// <returns>The token.</returns>
        /// <exception cref="ShipicaAccessTokenException">The service refused (not authorized, revoked, unavailable, ...).</exception>
        public Task<ShipicaAccessToken> GetForSellerAsync(string sellingPartnerId, [AllowNull] string marketplace, bool refresh = false,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            if (sellingPartnerId == null) throw new ArgumentNullException(nameof(sellingPartnerId));
            return RequestAsync("/api/sellers/" + Uri.EscapeDataString(sellingPartnerId) + "/access-token", marketplace, refresh, cancellationToken);
        }

        async Task<ShipicaAccessToken> RequestAsync(string path, [AllowNull] string marketplace, bool refresh, CancellationToken cancellationToken)
        {
            var query = new List<string>();
            if (!string.IsNullOrEmpty(marketplace)) query.Add("marketplace=" + Uri.EscapeDataString(marketplace));
            if (refresh) query.Add("refresh=true");
            string url = baseUrl + path + (query.Count > 0 ? "?" + string.Join("&", query) : "");
            using (var request = new HttpRequestMessage(HttpMethod.Post, url))
            {
                request.Content = new ByteArrayContent(Array.Empty<byte>());
                if (functionKey.Length > 0) request.Headers.Add("x-functions-key", functionKey);
                using (HttpResponseMessage response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false))
                {
                    byte[] body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                    int status = (int)response.StatusCode;
                    Dictionary<string, string> fields = ReadJsonStrings(body);
                    if (status < 200 || status > 299)
                    {
                        var retry = response.Headers.RetryAfter;
                        TimeSpan? retryAfter = null;
                        if (retry != null && retry.Delta.HasValue) retryAfter = retry.Delta.Value;
                        else if (retry != null && retry.Date.HasValue) retryAfter = retry.Date.Value - DateTimeOffset.UtcNow;
                        string message = Field(fields, "message");
                        throw new ShipicaAccessTokenException(status, Field(fields, "error"), message.Length > 0 ? message : "no JSON error in the answer", retryAfter);
                    }
                    DateTimeOffset expiresAt;
                    string token = Field(fields, "access_token");
                    if (token.Length == 0 || !DateTimeOffset.TryParse(Field(fields, "expires_at"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out expiresAt))
                        throw new ShipicaAccessTokenException(status, "", "the answer holds no access_token or expires_at", null);
                    return new ShipicaAccessToken(token, Field(fields, "token_type"), expiresAt, Field(fields, "customer_id"), Field(fields, "selling_partner_id"), Field(fields, "scope"), Field(fields, "region"));
                }
            }
        }

        static string Field(Dictionary<string, string> fields, string name)
        {
            return fields.ContainsKey(name) ? fields[name] : "";
        }

        /// <summary>The string members of a JSON object; empty when the body is not one (an HTML error page, nothing).</summary>
        static Dictionary<string, string> ReadJsonStrings(byte[] body)
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            if (body.Length == 0) return fields;
            try
            {
                using (XmlDictionaryReader reader = JsonReaderWriterFactory.CreateJsonReader(body, XmlDictionaryReaderQuotas.Max))
                {
                    // The JSON reader presents {"a":"b"} as <root type="object"><a type="string">b</a></root>.
                    reader.MoveToContent();
                    if (reader.GetAttribute("type") != "object" || reader.IsEmptyElement) return fields;
                    reader.ReadStartElement();
                    while (reader.MoveToContent() == XmlNodeType.Element)
                    {
                        string name = reader.LocalName;
                        if (reader.GetAttribute("type") == "string") fields[name] = reader.ReadElementContentAsString();
                        else reader.Skip();
                    }
                }
            }
            catch (XmlException)
            {
                fields.Clear();
            }
            return fields;
        }
    }
}
