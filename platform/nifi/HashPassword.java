// Prints the bcrypt hash NiFi's single-user login provider expects for the password read from stdin.
// Run: java -cp 'tools/*' HashPassword.java < password
import at.favre.lib.crypto.bcrypt.BCrypt;
import java.io.BufferedReader;
import java.io.InputStreamReader;

public class HashPassword {
    public static void main(String[] args) throws Exception {
        String password = new BufferedReader(new InputStreamReader(System.in)).readLine();
        System.out.println(BCrypt.withDefaults().hashToString(12, password.toCharArray()));
    }
}
