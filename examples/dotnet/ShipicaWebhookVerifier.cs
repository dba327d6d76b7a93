// Shipica SP-API seller authorization: verifying an event webhook (docs/oxwebapp.md, "Verifying the signature").
// A drop-in file: the base class library only (no StandardWebhooks package); compiles as C# 7 (Mono's mcs) and on
// .NET 8+.
using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Shipica.SpApiAuth
{
    /// <summary>
    /// Checks the Standard Webhooks signature of an event the service POSTs to <c>EVENTS_WEBHOOK_URL</c>:
    /// <c>webhook-signature</c> holds, space-separated, one or more <c>v1,&lt;base64 HMAC-SHA256&gt;</c> of
    /// <c>{webhook-id}.{webhook-timestamp}.{body}</c>, keyed with the base64-decoded part of the
    /// <c>whsec_</c> secret, and <c>webhook-timestamp</c> (unix seconds) must be within <see cref="Tolerance"/> of
    /// now. Verify the raw body, exactly as received, before parsing it; answer 401 when it fails. Make one
    /// instance at start-up and share it: it is thread-safe.
    /// </summary>
    public sealed class ShipicaWebhookVerifier
    {
        /// <summary>How far <c>webhook-timestamp</c> may be from now, either way.</summary>
        public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

        const string SecretPrefix = "whsec_";
        readonly byte[][] keys;

        /// <summary>Takes the secrets a signature may be made with: a webhook passes when any one of them signed it.</summary>
        /// <param name="secrets">
        /// <c>EVENTS_WEBHOOK_SECRET</c> values (<c>whsec_</c> and base64). Null or empty entries are skipped, so an
        /// optional setting can be passed as it is; at least one secret must remain.
        /// </param>
        /// <exception cref="ArgumentException">No secret, or one that is not base64 (the message never holds it).</exception>
        public ShipicaWebhookVerifier(params string[] secrets)
        {
            if (secrets == null) throw new ArgumentNullException(nameof(secrets));
            var decoded = new List<byte[]>();
            foreach (string secret in secrets)
            {
                if (string.IsNullOrEmpty(secret)) continue;
                string base64 = secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret.Substring(SecretPrefix.Length) : secret;
                byte[] key;
                try
                {
                    key = Convert.FromBase64String(base64);
                }
                catch (FormatException)
                {
                    throw new ArgumentException("A webhook secret is not whsec_ followed by base64.", nameof(secrets));
                }
                if (key.Length == 0) throw new ArgumentException("A webhook secret is empty after whsec_.", nameof(secrets));
                decoded.Add(key);
            }
            if (decoded.Count == 0) throw new ArgumentException("No webhook secret was given.", nameof(secrets));
            keys = decoded.ToArray();
        }

        /// <summary>True when the webhook is signed with one of the secrets and its timestamp is within <see cref="Tolerance"/> of the clock.</summary>
        /// <param name="webhookId">The <c>webhook-id</c> header (<c>evt_&lt;event_id&gt;</c>); null when missing.</param>
        /// <param name="webhookTimestamp">The <c>webhook-timestamp</c> header; null when missing.</param>
        /// <param name="webhookSignature">The <c>webhook-signature</c> header; null when missing.</param>
        /// <param name="body">The raw request body, byte for byte.</param>
        /// <returns>Whether to accept the webhook.</returns>
        public bool Verify([AllowNull] string webhookId, [AllowNull] string webhookTimestamp, [AllowNull] string webhookSignature, byte[] body)
        {
            return Verify(webhookId, webhookTimestamp, webhookSignature, body, DateTimeOffset.UtcNow);
        }

        /// <summary>True when the webhook is signed with one of the secrets and its timestamp is within <see cref="Tolerance"/> of the clock.</summary>
        /// <param name="webhookId">The <c>webhook-id</c> header (<c>evt_&lt;event_id&gt;</c>); null when missing.</param>
        /// <param name="webhookTimestamp">The <c>webhook-timestamp</c> header; null when missing.</param>
        /// <param name="webhookSignature">The <c>webhook-signature</c> header; null when missing.</param>
        /// <param name="body">The request body as read (UTF-8), unchanged: not re-serialized, not trimmed.</param>
        /// <returns>Whether to accept the webhook.</returns>
        public bool Verify([AllowNull] string webhookId, [AllowNull] string webhookTimestamp, [AllowNull] string webhookSignature, string body)
        {
            if (body == null) throw new ArgumentNullException(nameof(body));
            return Verify(webhookId, webhookTimestamp, webhookSignature, Encoding.UTF8.GetBytes(body), DateTimeOffset.UtcNow);
        }

        /// <summary>As <see cref="Verify(string, string, string, byte[])"/>, against a given clock.</summary>
        /// <param name="webhookId">The <c>webhook-id</c> header (<c>evt_&lt;event_id&gt;</c>); null when missing.</param>
        /// <param name="webhookTimestamp">The <c>webhook-timestamp</c> header; null when missing.</param>
        /// <param name="webhookSignature">The <c>webhook-signature</c> header; null when missing.</param>
        /// <param name="body">The request body as read (UTF-8), unchanged.</param>
        /// <param name="now">The time to hold <c>webhook-timestamp</c> against.</param>
        /// <returns>Whether to accept the webhook.</returns>
        public bool Verify([AllowNull] string webhookId, [AllowNull] string webhookTimestamp, [AllowNull] string webhookSignature, string body, DateTimeOffset now)
        {
            if (body == null) throw new ArgumentNullException(nameof(body));
            return Verify(webhookId, webhookTimestamp, webhookSignature, Encoding.UTF8.GetBytes(body), now);
        }

        /// <summary>As <see cref="Verify(string, string, string, byte[])"/>, against a given clock.</summary>
        /// <param name="webhookId">The <c>webhook-id</c> header (<c>evt_&lt;event_id&gt;</c>); null when missing.</param>
        /// <param name="webhookTimestamp">The <c>webhook-timestamp</c> header; null when missing.</param>
        /// <param name="webhookSignature">The <c>webhook-signature</c> header; null when missing.</param>
        /// <param name="body">The raw request body, byte for byte.</param>
        /// <param name="now">The time to hold <c>webhook-timestamp</c> against.</param>
        /// <returns>Whether to accept the webhook.</returns>
        public bool Verify([AllowNull] string webhookId, [AllowNull] string webhookTimestamp, [AllowNull] string webhookSignature, byte[] body, DateTimeOffset now)
        {
            if (body == null) throw new ArgumentNullException(nameof(body));
            if (string.IsNullOrEmpty(webhookId) || string.IsNullOrEmpty(webhookTimestamp) || string.IsNullOrEmpty(webhookSignature)) return false;
            long seconds;
            if (!long.TryParse(webhookTimestamp, NumberStyles.None, CultureInfo.InvariantCulture, out seconds)) return false;
            if (Math.Abs(now.ToUnixTimeSeconds() - seconds) > (long)Tolerance.TotalSeconds) return false;

            // The signed content: "{id}.{timestamp}." then the body's bytes as they came.
            byte[] prefix = Encoding.UTF8.GetBytes(webhookId + "." + webhookTimestamp + ".");
            var content = new byte[prefix.Length + body.Length];
            Buffer.BlockCopy(prefix, 0, content, 0, prefix.Length);
            Buffer.BlockCopy(body, 0, content, prefix.Length, body.Length);

            string[] given = webhookSignature.Split(' ');
            foreach (byte[] key in keys)
            {
                byte[] expected;
                using (var hmac = new HMACSHA256(key))
                {
                    expected = Encoding.ASCII.GetBytes(Convert.ToBase64String(hmac.ComputeHash(content)));
                }
                foreach (string part in given)
                {
                    if (!part.StartsWith("v1,", StringComparison.Ordinal)) continue; // another scheme (v1a, ...): not ours
                    byte[] signature = Encoding.ASCII.GetBytes(part.Substring(3));
                    // Constant time: how much of a guess is right must not show in how long the answer takes.
                    if (signature.Length == expected.Length && CryptographicOperations.FixedTimeEquals(signature, expected)) return true;
                }
            }
            return false;
        }
    }
}
