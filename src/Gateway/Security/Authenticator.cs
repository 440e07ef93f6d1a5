using System.Security.Cryptography;
using System.Text;
using Platform.Gateway.Protocol;

namespace Platform.Gateway.Security;

/// <summary>
/// Checks CONNECT credentials against the token, the single user (<c>--user</c>/<c>--pass</c>) or the users list.
/// Passwords and tokens that look like bcrypt hashes are verified with bcrypt; plain ones with a constant-time compare.
/// </summary>
internal sealed class Authenticator
{
    private readonly string? _token;
    private readonly Dictionary<string, (string Password, ClientPermissions? Permissions)> _users = new(StringComparer.Ordinal);

    public Authenticator(NatsOptions options)
    {
        _token = options.AuthToken;
        foreach (var user in options.Users)
            _users[user.Username] = (user.Password, user.Permissions is null ? null : new ClientPermissions(user.Permissions));
        if (options.Username is not null)
            _users[options.Username] = (options.Password ?? "", null);
    }

    public bool Required => _token is not null || _users.Count > 0;

    /// <summary>Whether the CONNECT is allowed; <paramref name="permissions"/> is the user's, null for no limits.</summary>
    public bool TryAuthenticate(ConnectOptions connect, out string? user, out ClientPermissions? permissions)
    {
        user = null;
        permissions = null;
        if (_token is not null)
            return PasswordMatches(connect.AuthToken, _token);
        if (connect.User is null || !_users.TryGetValue(connect.User, out var entry))
            return false;
        if (!PasswordMatches(connect.Pass, entry.Password))
            return false;
        user = connect.User;
        permissions = entry.Permissions;
        return true;
    }

    public static bool IsBcrypt(string secret)
        => secret.StartsWith("$2a$", StringComparison.Ordinal) || secret.StartsWith("$2b$", StringComparison.Ordinal)
           || secret.StartsWith("$2y$", StringComparison.Ordinal);

    private static bool PasswordMatches(string? given, string expected)
    {
        // As nats-server, a secret not sent is the empty one: it opens only a user configured without a password.
        given ??= "";
        if (IsBcrypt(expected))
        {
            try
            {
                return BCrypt.Net.BCrypt.Verify(given, expected);
            }
            catch (Exception ex) when (ex is BCrypt.Net.SaltParseException or BCrypt.Net.HashInformationException or ArgumentException)
            {
                return false;
            }
        }
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected));
    }
}
