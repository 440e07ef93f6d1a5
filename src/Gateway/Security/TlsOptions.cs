using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Platform.Gateway.Security;

/// <summary>The <c>tls { }</c> block (or the --tls flags): client connections must upgrade to TLS after the INFO.</summary>
public sealed class TlsOptions
{
    public string? CertFile { get; set; }
    public string? KeyFile { get; set; }
    /// <summary>The CA that client certificates must chain to; without it, the system's roots.</summary>
    public string? CaFile { get; set; }
    /// <summary>Clients must present a certificate that validates.</summary>
    public bool Verify { get; set; }
    /// <summary>Time allowed for the handshake after the INFO; nats-server's default is 2 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);

    internal TlsCredentials? Credentials { get; private set; }

    /// <summary>
    /// Reads the PEM files now, so a bad file stops the start instead of failing every connection.
    /// Throws <see cref="TlsConfigurationException"/> with nats-server's wording.
    /// </summary>
    public void Load()
    {
        if (string.IsNullOrEmpty(CertFile))
            throw new TlsConfigurationException("TLS Server certificate must be present and valid");
        if (string.IsNullOrEmpty(KeyFile))
            throw new TlsConfigurationException("TLS Server private key must be present and valid");
        X509Certificate2 certificate;
        var chain = new X509Certificate2Collection();
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(CertFile, KeyFile);
            // Further certificates in the cert file are intermediates, sent along in the handshake.
            chain.ImportFromPemFile(CertFile);
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException or ArgumentException)
        {
            throw new TlsConfigurationException($"error parsing X509 certificate/key pair: {ex.Message}");
        }
        X509Certificate2Collection? authorities = null;
        if (!string.IsNullOrEmpty(CaFile))
        {
            authorities = [];
            try
            {
                authorities.ImportFromPemFile(CaFile);
            }
            catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException or ArgumentException)
            {
                throw new TlsConfigurationException($"error parsing ca_file: {ex.Message}");
            }
            if (authorities.Count == 0)
                throw new TlsConfigurationException($"error parsing ca_file: no certificates in \"{CaFile}\"");
        }
        Credentials = new TlsCredentials(certificate, [.. chain.Skip(1)], authorities);
    }
}

/// <summary>What <see cref="TlsOptions.Load"/> read: the server certificate with its key, intermediates and client CAs.</summary>
internal sealed record TlsCredentials(X509Certificate2 Certificate, X509Certificate2Collection Intermediates, X509Certificate2Collection? Authorities);

public sealed class TlsConfigurationException(string message) : Exception(message);
