using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Platform.Gateway.Security;

namespace Platform.Gateway.Server;

/// <summary>The server side of the TLS upgrade, built once: certificate context, client certificate policy, timeout.</summary>
internal sealed class ServerTls
{
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");
    private readonly X509Certificate2Collection? _authorities;

    public ServerTls(TlsOptions options)
    {
        if (options.Credentials is null)
            options.Load();
        var credentials = options.Credentials!;
        _authorities = credentials.Authorities;
        Verify = options.Verify;
        Timeout = options.Timeout;
        Authentication = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(credentials.Certificate, credentials.Intermediates, offline: true),
            ClientCertificateRequired = options.Verify,
            RemoteCertificateValidationCallback = ValidateClient,
        };
    }

    public SslServerAuthenticationOptions Authentication { get; }
    public bool Verify { get; }
    public TimeSpan Timeout { get; }

    /// <summary>With verify, the client's certificate must chain to ca_file (or, without one, the system's roots).</summary>
    private bool ValidateClient(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (!Verify)
            return true;
        if (certificate is null)
            return false;
        if (_authorities is null)
            return errors == SslPolicyErrors.None;
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.ApplicationPolicy.Add(ClientAuthentication);
        if (chain is not null)
            custom.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
        if (certificate is X509Certificate2 certificate2)
            return custom.Build(certificate2);
        using var copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return custom.Build(copy);
    }
}

/// <summary>A connection's transport after the upgrade: pipes over the <see cref="SslStream"/>.</summary>
internal sealed class TlsPipe(SslStream ssl) : IDuplexPipe
{
    public PipeReader Input { get; } = PipeReader.Create(ssl, new StreamPipeReaderOptions(bufferSize: 32 * 1024, minimumReadSize: 16 * 1024, leaveOpen: true));
    public PipeWriter Output { get; } = PipeWriter.Create(ssl, new StreamPipeWriterOptions(minimumBufferSize: 16 * 1024, leaveOpen: true));
}

/// <summary>Kestrel's connection pipes as the <see cref="Stream"/> an <see cref="SslStream"/> runs over.</summary>
internal sealed class DuplexPipeStream(IDuplexPipe pipe) : Stream
{
    private readonly Stream _input = pipe.Input.AsStream(leaveOpen: true);
    private readonly Stream _output = pipe.Output.AsStream(leaveOpen: true);

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => _input.Read(buffer, offset, count);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => _input.ReadAsync(buffer, offset, count, cancellationToken);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        => _input.ReadAsync(buffer, cancellationToken);
    public override void Write(byte[] buffer, int offset, int count) => _output.Write(buffer, offset, count);
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => _output.WriteAsync(buffer, offset, count, cancellationToken);
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        => _output.WriteAsync(buffer, cancellationToken);
    public override void Flush() => _output.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => _output.FlushAsync(cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
