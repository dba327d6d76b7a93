// The test driver of examples/dotnet/ (test/unit/examples/dotnetExamples.test.ts compiles it with those files).
// Standard input: one command a line, its arguments after tabs, each argument base64 of UTF-16LE (so any string,
// lone surrogates included, arrives unchanged). Standard output: one line a command, in order.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net.Http;
using System.Text;
using Shipica.SpApiAuth;

static class DotnetExamplesDriver
{
    static int Main()
    {
        // UTF-8 whatever the locale says (a CI run may have no LANG, and Mono would then write '?' for 'ü').
        var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false));
        string line;
        while ((line = Console.In.ReadLine()) != null)
        {
            string[] fields = line.Split('\t');
            var args = new List<string>();
            for (int i = 1; i < fields.Length; i++) args.Add(Decode(fields[i]));
            string answer;
            try
            {
                answer = Run(fields[0], args);
            }
            catch (Exception error)
            {
                answer = "exception\t" + error.GetType().Name;
            }
            output.Write(answer + "\n");
        }
        output.Flush();
        return 0;
    }

    static string Run(string command, List<string> a)
    {
        switch (command)
        {
            case "link":
                // baseUrl, secret, customerId, marketplace, expires[, callbackUri, state, sellingPartnerId, version]
                long expires = long.Parse(a[4]);
                if (a.Count == 5) return AmazonLaunchLink.Create(a[0], a[1], a[2], a[3], expires);
                return AmazonLaunchLink.Create(a[0], a[1], a[2], a[3], expires, new AmazonLogin(a[5], a[6], a[7], a.Count > 8 ? a[8] : null));
            case "link-now":
                // baseUrl, secret, customerId, marketplace: the default lifetime
                return AmazonLaunchLink.Create(a[0], a[1], a[2], a[3]);
            case "webhook":
                // now, webhook-id, webhook-timestamp, webhook-signature, body, secret...; both body overloads must agree
                DateTimeOffset now = DateTimeOffset.FromUnixTimeSeconds(long.Parse(a[0]));
                var verifier = new ShipicaWebhookVerifier(a.GetRange(5, a.Count - 5).ToArray());
                bool asText = verifier.Verify(a[1], a[2], a[3], a[4], now);
                bool asBytes = verifier.Verify(a[1], a[2], a[3], Encoding.UTF8.GetBytes(a[4]), now);
                return asText == asBytes ? (asText ? "true" : "false") : "disagree";
            case "token":
                // baseUrl, functionKey, customer|seller, id, marketplace ("" for none), refresh (true|false)
                return Token(a[0], a[1], a[2], a[3], a[4], a[5] == "true");
            default:
                return "unknown command " + command;
        }
    }

    static string Token(string baseUrl, string functionKey, string kind, string id, string marketplace, bool refresh)
    {
        // No proxy from the environment: the test's stand-in for the service is on loopback.
        using (var http = new HttpClient(new HttpClientHandler { UseProxy = false }))
        {
            var client = new ShipicaAccessTokenClient(http, baseUrl, functionKey.Length > 0 ? functionKey : null);
            try
            {
                ShipicaAccessToken token = (kind == "seller"
                    ? client.GetForSellerAsync(id, marketplace.Length > 0 ? marketplace : null, refresh)
                    : client.GetForCustomerAsync(id, marketplace.Length > 0 ? marketplace : null, refresh)).GetAwaiter().GetResult();
                return string.Join("\t", "token", token.AccessToken, token.TokenType, token.ExpiresAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
                    token.CustomerId, token.SellingPartnerId, token.Scope, token.Region, token.ToString());
            }
            catch (ShipicaAccessTokenException refused)
            {
                string retryAfter = refused.RetryAfter.HasValue ? Math.Round(refused.RetryAfter.Value.TotalSeconds).ToString(CultureInfo.InvariantCulture) : "-";
                return string.Join("\t", "refused", refused.StatusCode.ToString(CultureInfo.InvariantCulture), refused.Error, retryAfter, refused.Message);
            }
        }
    }

    static string Decode(string base64)
    {
        byte[] bytes = Convert.FromBase64String(base64);
        var text = new StringBuilder(bytes.Length / 2);
        for (int i = 0; i + 1 < bytes.Length; i += 2) text.Append((char)(bytes[i] | (bytes[i + 1] << 8)));
        return text.ToString();
    }
}
