// Shipica SP-API seller authorization: signing a launch link (docs/oxwebapp.md, "Launch links").
// A drop-in file: the base class library only; compiles as C# 7 (Mono's mcs) and on .NET 8+.
using System;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Shipica.SpApiAuth
{
    /// <summary>
    /// What Amazon sent to the service's Login URI after an Appstore install, which the service passes on to
    /// oxWebApp at <c>OXWEBAPP_LINK_URL</c> and oxWebApp signs back into the launch link. Appstore installs only.
    /// </summary>
    public sealed class AmazonLogin
    {
        /// <summary>Takes the query parameters as oxWebApp received them.</summary>
        /// <param name="callbackUri">The <c>amazon_callback_uri</c> parameter.</param>
        /// <param name="state">The <c>amazon_state</c> parameter.</param>
        /// <param name="sellingPartnerId">The <c>selling_partner_id</c> parameter.</param>
        /// <param name="version">The <c>version</c> parameter (<c>beta</c>), or null or empty when Amazon sent none.</param>
        public AmazonLogin(string callbackUri, string state, string sellingPartnerId, [AllowNull] string version)
        {
            if (callbackUri == null) throw new ArgumentNullException(nameof(callbackUri));
            if (state == null) throw new ArgumentNullException(nameof(state));
            if (sellingPartnerId == null) throw new ArgumentNullException(nameof(sellingPartnerId));
            CallbackUri = callbackUri;
            State = state;
            SellingPartnerId = sellingPartnerId;
            Version = version ?? "";
        }

        /// <summary>The <c>amazon_callback_uri</c> parameter.</summary>
        public string CallbackUri { get; }

        /// <summary>The <c>amazon_state</c> parameter.</summary>
        public string State { get; }

        /// <summary>The <c>selling_partner_id</c> parameter.</summary>
        public string SellingPartnerId { get; }

        /// <summary>The <c>version</c> parameter (<c>beta</c>), or an empty string when Amazon sent none.</summary>
        public string Version { get; }
    }

    /// <summary>
    /// Signs the launch link behind oxWebApp's "Authorize Shipica" button, exactly as the service checks it:
    /// <c>{baseUrl}/api/authorize?{message}&amp;sig={sig}</c>, where the message is the fields
    /// <c>customer_id</c>, <c>marketplace</c>, <c>expires</c> (then, after an Appstore install,
    /// <c>amazon_callback_uri</c>, <c>amazon_state</c>, <c>selling_partner_id</c> and <c>version</c> when sent), in
    /// that order, form-encoded as the WHATWG URL standard's <c>URLSearchParams</c> does it, and the sig is the
    /// base64url (no padding) HMAC-SHA256 of the message's UTF-8 bytes, keyed with the UTF-8 bytes of
    /// <c>LAUNCH_LINK_SECRET</c>. Thread-safe.
    /// </summary>
    public static class AmazonLaunchLink
    {
        /// <summary>How long a link made by <see cref="Create(string, string, string, string)"/> stays valid.</summary>
        public static readonly TimeSpan DefaultLifetime = TimeSpan.FromMinutes(10);

        /// <summary>The longest lifetime the service accepts (<c>expires</c> at most this far ahead).</summary>
        public static readonly TimeSpan MaxLifetime = TimeSpan.FromHours(1);

        /// <summary>A link for a customer and marketplace, valid for <see cref="DefaultLifetime"/>.</summary>
        /// <param name="baseUrl">The service's address, e.g. <c>https://shipica-spapi-auth.azurewebsites.net</c>.</param>
        /// <param name="secret">LAUNCH_LINK_SECRET, shared with the service (keep it in Key Vault).</param>
        /// <param name="customerId">oxWebApp's id of the logged-in customer.</param>
        /// <param name="marketplace">The marketplace code: US, CA, DE, JP, ...</param>
        /// <returns>The signed URL to send the browser to.</returns>
        public static string Create(string baseUrl, string secret, string customerId, string marketplace)
        {
            return Create(baseUrl, secret, customerId, marketplace, ExpiresAfter(DefaultLifetime));
        }

        /// <summary>An Appstore install's link, valid for <see cref="DefaultLifetime"/>.</summary>
        /// <param name="baseUrl">The service's address, e.g. <c>https://shipica-spapi-auth.azurewebsites.net</c>.</param>
        /// <param name="secret">LAUNCH_LINK_SECRET, shared with the service (keep it in Key Vault).</param>
        /// <param name="customerId">oxWebApp's id of the logged-in customer.</param>
        /// <param name="marketplace">The marketplace code: US, CA, DE, JP, ...</param>
        /// <param name="amazon">What Amazon sent to the Login URI, as oxWebApp received it.</param>
        /// <returns>The signed URL to send the browser to.</returns>
        public static string Create(string baseUrl, string secret, string customerId, string marketplace, AmazonLogin amazon)
        {
            return Create(baseUrl, secret, customerId, marketplace, ExpiresAfter(DefaultLifetime), amazon);
        }

        /// <summary>A link that expires at a given time.</summary>
        /// <param name="baseUrl">The service's address, e.g. <c>https://shipica-spapi-auth.azurewebsites.net</c>.</param>
        /// <param name="secret">LAUNCH_LINK_SECRET, shared with the service (keep it in Key Vault).</param>
        /// <param name="customerId">oxWebApp's id of the logged-in customer.</param>
        /// <param name="marketplace">The marketplace code: US, CA, DE, JP, ...</param>
        /// <param name="expires">Unix seconds; the service refuses a link more than <see cref="MaxLifetime"/> ahead.</param>
        /// <returns>The signed URL to send the browser to.</returns>
        public static string Create(string baseUrl, string secret, string customerId, string marketplace, long expires)
        {
            return Link(baseUrl, secret, BaseMessage(customerId, marketplace, expires));
        }

        /// <summary>An Appstore install's link that expires at a given time.</summary>
        /// <param name="baseUrl">The service's address, e.g. <c>https://shipica-spapi-auth.azurewebsites.net</c>.</param>
        /// <param name="secret">LAUNCH_LINK_SECRET, shared with the service (keep it in Key Vault).</param>
        /// <param name="customerId">oxWebApp's id of the logged-in customer.</param>
        /// <param name="marketplace">The marketplace code: US, CA, DE, JP, ...</param>
        /// <param name="expires">Unix seconds; the service refuses a link more than <see cref="MaxLifetime"/> ahead.</param>
        /// <param name="amazon">What Amazon sent to the Login URI, as oxWebApp received it.</param>
        /// <returns>The signed URL to send the browser to.</returns>
        public static string Create(string baseUrl, string secret, string customerId, string marketplace, long expires, AmazonLogin amazon)
        {
            if (amazon == null) throw new ArgumentNullException(nameof(amazon));
            StringBuilder message = BaseMessage(customerId, marketplace, expires);
            message.Append("&amazon_callback_uri=").Append(FormEncode(amazon.CallbackUri));
            message.Append("&amazon_state=").Append(FormEncode(amazon.State));
            message.Append("&selling_partner_id=").Append(FormEncode(amazon.SellingPartnerId));
            if (amazon.Version.Length > 0) message.Append("&version=").Append(FormEncode(amazon.Version));
            return Link(baseUrl, secret, message);
        }

        /// <summary>
        /// A value encoded as <c>application/x-www-form-urlencoded</c> the way <c>URLSearchParams</c> serializes it:
        /// the UTF-8 bytes, with ASCII letters, digits and <c>*-._</c> as they are, a space as <c>+</c> and every
        /// other byte as <c>%XX</c> in upper-case hex. <c>WebUtility.UrlEncode</c> differs (it leaves <c>!()</c>
        /// alone) and so does <c>HttpUtility.UrlEncode</c> (lower-case hex); either would break the signature.
        /// </summary>
        /// <param name="value">The text to encode; a lone surrogate becomes U+FFFD, as in <c>URLSearchParams</c>.</param>
        /// <returns>The encoded value.</returns>
        public static string FormEncode(string value)
        {
            if (value == null) throw new ArgumentNullException(nameof(value));
            var encoded = new StringBuilder(value.Length * 3);
            foreach (byte b in Encoding.UTF8.GetBytes(value))
            {
                char c = (char)b;
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '*' || c == '-' || c == '.' || c == '_')
                    encoded.Append(c);
                else if (c == ' ')
                    encoded.Append('+');
                else
                    encoded.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            return encoded.ToString();
        }

        static long ExpiresAfter(TimeSpan lifetime)
        {
            return DateTimeOffset.UtcNow.Add(lifetime).ToUnixTimeSeconds();
        }

        static StringBuilder BaseMessage(string customerId, string marketplace, long expires)
        {
            if (customerId == null) throw new ArgumentNullException(nameof(customerId));
            if (marketplace == null) throw new ArgumentNullException(nameof(marketplace));
            var message = new StringBuilder();
            message.Append("customer_id=").Append(FormEncode(customerId));
            message.Append("&marketplace=").Append(FormEncode(marketplace));
            message.Append("&expires=").Append(expires.ToString(CultureInfo.InvariantCulture));
            return message;
        }

        static string Link(string baseUrl, string secret, StringBuilder message)
        {
            if (baseUrl == null) throw new ArgumentNullException(nameof(baseUrl));
            if (secret == null) throw new ArgumentNullException(nameof(secret));
            string signed = message.ToString();
            byte[] mac;
            using (var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(secret)))
            {
                mac = hmac.ComputeHash(Encoding.UTF8.GetBytes(signed));
            }
            string sig = Convert.ToBase64String(mac).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            return baseUrl.TrimEnd('/') + "/api/authorize?" + signed + "&sig=" + sig;
        }
    }
}
