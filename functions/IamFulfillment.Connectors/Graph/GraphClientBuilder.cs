using System.Security.Cryptography.X509Certificates;
using Azure.Core;
using Azure.Identity;
using IamFulfillment.Connectors.Http;
using Microsoft.Graph;
using Microsoft.Graph.Authentication;
using Microsoft.Kiota.Abstractions.Authentication;

namespace IamFulfillment.Connectors.Graph;

/// <summary>
/// Builds the <see cref="GraphServiceClient"/> on our own <see cref="HttpClient"/> (so the SDK adds no retry
/// middleware: <see cref="RetryHandler"/> is the only retry layer) with an Azure.Identity credential per
/// <see cref="GraphOptions.AuthMode"/>.
/// </summary>
public static class GraphClientBuilder
{
    /// <summary>Name of the <see cref="IHttpClientFactory"/> client.</summary>
    public const string HttpClientName = "Graph";

    /// <summary>Hosts the SDK sends tokens to by default (public and national clouds).</summary>
    private static readonly string[] GraphHosts =
    [
        "graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "graph.microsoft.de", "microsoftgraph.chinacloudapi.cn",
        "canary.graph.microsoft.com", "graph.microsoft-ppe.com",
    ];

    public static GraphServiceClient Create(HttpClient httpClient, GraphOptions options) =>
        new(httpClient, CreateAuthenticationProvider(options), options.BaseUrl.TrimEnd('/'));

    public static IAuthenticationProvider CreateAuthenticationProvider(GraphOptions options)
    {
        if (options.AuthMode == GraphAuthMode.None)
        {
            if (!LoopbackGuard.IsLoopback(options.BaseUrl))
            {
                throw new InvalidOperationException("Graph:AuthMode None is only allowed when Graph:BaseUrl is a loopback test server.");
            }

            return new AnonymousAuthenticationProvider();
        }

        var baseUri = new Uri(options.BaseUrl);

        // A loopback server never gets a token (it is not an allowed host); a sovereign-cloud Graph host does.
        var resourceHost = LoopbackGuard.IsLoopback(baseUri) ? "graph.microsoft.com" : baseUri.Host;
        return new AzureIdentityAuthenticationProvider(CreateCredential(options), AllowedHosts(baseUri), null, true, $"https://{resourceHost}/.default");
    }

    /// <summary>The hosts a token may be sent to: Graph's own, plus the configured host when it is a real (https, non-loopback) one.</summary>
    public static string[] AllowedHosts(Uri baseUri) =>
        baseUri.Scheme == Uri.UriSchemeHttps && !LoopbackGuard.IsLoopback(baseUri) && !GraphHosts.Contains(baseUri.Host, StringComparer.OrdinalIgnoreCase)
            ? [.. GraphHosts, baseUri.Host]
            : GraphHosts;

    public static TokenCredential CreateCredential(GraphOptions options)
    {
        var authority = string.IsNullOrWhiteSpace(options.AuthorityHost) ? AzureAuthorityHosts.AzurePublicCloud : new Uri(options.AuthorityHost);
        return options.AuthMode switch
        {
            GraphAuthMode.ClientSecret => new ClientSecretCredential(options.TenantId, options.ClientId, options.ClientSecret,
                new ClientSecretCredentialOptions { AuthorityHost = authority }),
            GraphAuthMode.Certificate => new ClientCertificateCredential(options.TenantId, options.ClientId,
                LoadCertificate(options.CertificatePath!, options.CertificatePassword),
                new ClientCertificateCredentialOptions { AuthorityHost = authority }),
            GraphAuthMode.ManagedIdentity => new ManagedIdentityCredential(new ManagedIdentityCredentialOptions(
                string.IsNullOrWhiteSpace(options.ManagedIdentityClientId)
                    ? ManagedIdentityId.SystemAssigned
                    : ManagedIdentityId.FromUserAssignedClientId(options.ManagedIdentityClientId))
            {
                AuthorityHost = authority,
            }),
            _ => throw new InvalidOperationException($"Graph:AuthMode {options.AuthMode} has no credential."),
        };
    }

    /// <summary>Loads a PFX (PKCS#12) or a PEM file holding certificate and private key (optionally encrypted).</summary>
    internal static X509Certificate2 LoadCertificate(string path, string? password)
    {
        using (var reader = new StreamReader(path))
        {
            var start = new char[11];
            var read = reader.ReadBlock(start, 0, start.Length);
            if (new string(start, 0, read) == "-----BEGIN ")
            {
                return string.IsNullOrEmpty(password)
                    ? X509Certificate2.CreateFromPemFile(path)
                    : X509Certificate2.CreateFromEncryptedPemFile(path, password);
            }
        }

        return X509CertificateLoader.LoadPkcs12FromFile(path, password);
    }
}
