using Platform.Silo.Configuration;

namespace Platform.IntegrationTests.Security;

/// <summary>The config keys for users, permissions, lame duck and logging, and their errors naming file, line and key.</summary>
public sealed class SecurityConfigTests
{
    internal static SiloSettings Apply(string text)
    {
        var settings = new SiloSettings();
        ConfigApplier.Apply(ConfigFile.Parse(text, "test.conf"), settings);
        return settings;
    }

    [Fact]
    public void Users_with_every_permission_shape()
    {
        var settings = Apply("""
            authorization {
              users = [
                {user: a, password: b, permissions: { publish: { allow: ["x.>"], deny: "x.secret" }, subscribe: "y.*" }}
                {user: c, pass: d, permissions: { pub: ["p.*", "q"], sub: { deny: ["z.>"] }, allow_responses: { max: 3, expires: "5s" } }}
                {username: e, password: "$2a$06$abcdefghijklmnopqrstuu"}
              ]
            }
            lame_duck_duration: "5s"
            lame_duck_grace_period: 1s
            log_file: "/tmp/x.log"
            debug: true
            trace: false
            """);
        var users = settings.Nats.Users;
        Assert.Equal(["a", "c", "e"], users.Select(u => u.Username));
        Assert.Equal(["x.>"], users[0].Permissions!.Publish!.Allow!);
        Assert.Equal(["x.secret"], users[0].Permissions!.Publish!.Deny!);
        Assert.Equal(["y.*"], users[0].Permissions!.Subscribe!.Allow!);
        Assert.Null(users[0].Permissions!.Subscribe!.Deny);
        Assert.Equal(["p.*", "q"], users[1].Permissions!.Publish!.Allow!);
        Assert.Equal(["z.>"], users[1].Permissions!.Subscribe!.Deny!);
        Assert.Equal(3, users[1].Permissions!.Responses!.MaxMessages);
        Assert.Equal(TimeSpan.FromSeconds(5), users[1].Permissions!.Responses!.Expires);
        Assert.Null(users[2].Permissions);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.Nats.LameDuckDuration);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.Nats.LameDuckGracePeriod);
        Assert.Equal("/tmp/x.log", settings.LogFile);
        Assert.True(settings.Debug);
        Assert.False(settings.Trace);
    }

    [Theory]
    [InlineData("authorization {\n users = [\n {user: a, password: b, nkey: x}\n ]\n}\n", "test.conf:3: unsupported configuration key \"authorization.users.nkey\"")]
    [InlineData("authorization {\n users = [\n {user: a, password: b, permissions: { publish: { allow: \"a..b\" } }}\n ]\n}\n", "test.conf:3: invalid value for \"permissions.publish.allow\"")]
    [InlineData("authorization {\n users = [\n {user: a, password: b, permissions: { publsh: \"x\" }}\n ]\n}\n", "test.conf:3: unsupported configuration key \"permissions.publsh\"")]
    [InlineData("authorization {\n users = [\n {password: b}\n ]\n}\n", "test.conf:3: authorization.users entry without \"user\"")]
    [InlineData("authorization {\n users = [\n {user: a, password: b}\n {user: a, password: c}\n ]\n}\n", "test.conf:4: duplicate user \"a\"")]
    [InlineData("authorization {\n users: \"a\"\n}\n", "test.conf:2: invalid value for \"authorization.users\"")]
    [InlineData("authorization {\n token: t\n users = [\n {user: a, password: b}\n ]\n}\n", "test.conf:3: can not have a token and a users array")]
    [InlineData("\nlame_duck_duration: \"soon\"\n", "test.conf:2: invalid value for \"lame_duck_duration\"")]
    [InlineData("lame_duck_duration: 0\n", "test.conf:1: invalid value for \"lame_duck_duration\"")]
    [InlineData("\n\nlame_duck_grace_period: [1]\n", "test.conf:3: invalid value for \"lame_duck_grace_period\"")]
    [InlineData("debug: \"loud\"\n", "test.conf:1: invalid value for \"debug\"")]
    public void Errors_name_file_line_and_key(string text, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => Apply(text));
        Assert.StartsWith(expected, error.Message);
    }
}
