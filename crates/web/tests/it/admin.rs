//! The partnership administrator's pages: organisations, accounts with a temporary password
//! that must be replaced, roles and disabling (issue 3). SQLite, and PostgreSQL when set.

use crate::browser::*;
use crate::support::app;
use axum::http::StatusCode;
use mace_domain::authz::{OrgType, Role};

const PARTNERSHIP: (&str, OrgType) = ("Estuary Partnership", OrgType::Partnership);
const SCHOOL: (&str, OrgType) = ("Riverside Academy", OrgType::School);

#[tokio::test]
async fn an_administrator_adds_an_organisation_and_a_user_who_must_replace_the_temporary_password()
{
    let app = app().await;
    add_user_at(
        &app,
        "admin@p.test",
        Role::PartnershipAdmin,
        Some(PARTNERSHIP),
    )
    .await;
    add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    let mut admin = Browser::new(&app);
    signed_in(&app, &mut admin, "admin@p.test").await;

    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.select_text("#users")
            .join(" ")
            .contains("dsl@school.test")
    );
    let token = csrf(&page);

    let no_type = admin
        .post(
            "/admin/organisations",
            &[("csrf_token", &token), ("name", "Estuary Youth Service")],
        )
        .await;
    assert_eq!(no_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_type.body.contains("value=\"Estuary Youth Service\""));
    let added = admin
        .post(
            "/admin/organisations",
            &[
                ("csrf_token", &token),
                ("name", "Estuary Youth Service"),
                ("org_type", "voluntary_sector"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let dup = admin
        .post(
            "/admin/organisations",
            &[
                ("csrf_token", &token),
                ("name", "Estuary Youth Service"),
                ("org_type", "voluntary_sector"),
            ],
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        dup.select_text(".govuk-error-summary")
            .join(" ")
            .contains("already exists")
    );

    let form = admin.get("/admin/users/new").await;
    assert_eq!(form.status, StatusCode::OK);
    let org_id = form
        .html()
        .select(&scraper::Selector::parse("#org_id option").unwrap())
        .find(|o| o.text().collect::<String>() == "Estuary Youth Service")
        .and_then(|o| o.value().attr("value").map(str::to_string))
        .expect("the new organisation is offered");
    let token = csrf(&form);
    let operator_only = admin
        .post(
            "/admin/users/new",
            &[
                ("csrf_token", &token),
                ("display_name", "Rhys Evans"),
                ("email", "rhys@youth.test"),
                ("org_id", &org_id),
                ("role_system_admin", "yes"),
            ],
        )
        .await;
    assert_eq!(operator_only.status, StatusCode::UNPROCESSABLE_ENTITY);
    let made = admin
        .post(
            "/admin/users/new",
            &[
                ("csrf_token", &token),
                ("display_name", "Rhys Evans"),
                ("email", "rhys@youth.test"),
                ("org_id", &org_id),
                ("role_practitioner", "yes"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let temp = made.select_text("#temporary-password").join("");
    assert_eq!(temp.len(), 19, "{temp}");

    // The new user signs in with it, enrols, and can do nothing until it is replaced.
    let mut rhys = Browser::new(&app);
    let r = sign_in_password(&mut rhys, "rhys@youth.test", &temp).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let enrol_page = rhys.get("/mfa/enrol?next=/account").await;
    let secret = setup_key(&enrol_page);
    let t = csrf(&enrol_page);
    rhys.post(
        "/mfa/enrol",
        &[
            ("code", &code_at(&app, &secret, 0)),
            ("csrf_token", &t),
            ("next", "/account"),
        ],
    )
    .await;
    let blocked = rhys.get("/concerns").await;
    assert_eq!(blocked.status, StatusCode::SEE_OTHER);
    assert_eq!(blocked.header("location"), "/account/password");
    let pw = rhys.get("/account/password").await;
    assert_eq!(pw.status, StatusCode::OK);
    assert!(!pw.select_text("#temporary-password").is_empty());
    let t = csrf(&pw);
    let changed = rhys
        .post(
            "/account/password",
            &[
                ("csrf_token", &t),
                ("current", &temp),
                ("new_password", "lantern-orchard-pebble-42"),
                ("confirm", "lantern-orchard-pebble-42"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert_eq!(rhys.get("/concerns").await.status, StatusCode::OK);

    // Others cannot administer.
    let mut dsl = Browser::new(&app);
    signed_in(&app, &mut dsl, "dsl@school.test").await;
    assert_eq!(dsl.get("/admin").await.status, StatusCode::FORBIDDEN);
    let page = dsl.get("/account").await;
    let t = csrf(&page);
    let refused = dsl
        .post(
            "/admin/organisations",
            &[
                ("csrf_token", &t),
                ("name", "Sneaky"),
                ("org_type", "school"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn roles_change_at_once_and_a_disabled_account_is_signed_out_everywhere() {
    let app = app().await;
    let admin_id = add_user_at(
        &app,
        "admin@p.test",
        Role::PartnershipAdmin,
        Some(PARTNERSHIP),
    )
    .await;
    let teacher = add_user_at(&app, "t@school.test", Role::Practitioner, Some(SCHOOL)).await;
    let mut admin = Browser::new(&app);
    signed_in(&app, &mut admin, "admin@p.test").await;
    let mut t = Browser::new(&app);
    let secret = signed_in(&app, &mut t, "t@school.test").await;
    assert!(!t.get("/").await.body.contains("href=\"/children\""));

    let page = admin.get(&format!("/admin/users/{teacher}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let token = csrf(&page);
    let none = admin
        .post(
            &format!("/admin/users/{teacher}/roles"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    let promoted = admin
        .post(
            &format!("/admin/users/{teacher}/roles"),
            &[
                ("csrf_token", &token),
                ("role_designated_safeguarding_lead", "yes"),
            ],
        )
        .await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER);
    assert!(
        t.get("/").await.body.contains("href=\"/children\""),
        "the new role applies at once"
    );

    let off = admin
        .post(
            &format!("/admin/users/{teacher}/status"),
            &[("csrf_token", &token), ("enabled", "no")],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    let gone = t.get("/account").await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "signed out everywhere");
    let again = sign_in_password(&mut t, "t@school.test", PASSWORD).await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a disabled account cannot sign in"
    );
    let on = admin
        .post(
            &format!("/admin/users/{teacher}/status"),
            &[("csrf_token", &token), ("enabled", "yes")],
        )
        .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER);
    app.clock.advance(time::Duration::seconds(30));
    sign_in_again(&app, &mut t, "t@school.test", &secret).await;
    assert_eq!(t.get("/account").await.status, StatusCode::OK);
    // An administrator cannot disable themselves.
    let me = admin
        .post(
            &format!("/admin/users/{admin_id}/status"),
            &[("csrf_token", &token), ("enabled", "no")],
        )
        .await;
    assert_eq!(me.status, StatusCode::CONFLICT);
    assert_eq!(admin.get("/admin").await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_administrator_imports_users_from_a_spreadsheet_all_or_nothing() {
    use mace_domain::audit::Category;
    let app = app().await;
    add_user_at(
        &app,
        "admin@p.test",
        Role::PartnershipAdmin,
        Some(PARTNERSHIP),
    )
    .await;
    add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    let mut admin = Browser::new(&app);
    signed_in(&app, &mut admin, "admin@p.test").await;
    let form = admin.get("/admin/users/import").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(
        form.select_text("#import-orgs")
            .join(" ")
            .contains("Riverside Academy")
    );
    let token = csrf(&form);

    // Without the form's CSRF token, nothing happens.
    let forged = admin
        .post(
            "/admin/users/import",
            &[("csrf_token", "nope"), ("csv", "email,name,org,roles\n")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Every problem is listed by line, the text is kept, and no account is created.
    let bad = "email,display name,organisation,roles\n\
               amy@school.test,Amy Shaw,Riverside Academy,practitioner\n\
               amy@school.test,Amy Again,Riverside Academy,practitioner\n\
               bo@school.test,Bo Li,Riverside Academy,system_admin\n\
               cy@school.test,Cy Hart,Nowhere School,wizard\n";
    let refused = admin
        .post(
            "/admin/users/import",
            &[("csrf_token", &token), ("csv", bad)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let summary = refused.select_text(".govuk-error-summary").join(" ");
    assert!(
        summary.contains("Line 3: The email address amy@school.test is also on line 2"),
        "{summary}"
    );
    assert!(
        summary.contains("Line 5: Unknown role \"wizard\""),
        "{summary}"
    );
    assert!(
        refused.body.contains("Amy Again"),
        "the pasted text is kept"
    );
    // Rows that read well are then checked against the database.
    let db_bad = "email,display name,organisation,roles\n\
                  dsl@school.test,Dee,Riverside Academy,practitioner\n\
                  bo@school.test,Bo Li,riverside academy,system_admin\n\
                  cy@school.test,Cy Hart,Nowhere School,practitioner\n";
    let refused = admin
        .post(
            "/admin/users/import",
            &[("csrf_token", &token), ("csv", db_bad)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let summary = refused.select_text(".govuk-error-summary").join(" ");
    for want in [
        "Line 2: An account with the email address dsl@school.test already exists",
        "Line 3: System administrator can only be given by the service operator",
        "Line 4: No organisation is called \"Nowhere School\"",
    ] {
        assert!(summary.contains(want), "{want} in {summary}");
    }
    let users = admin.get("/admin").await.select_text("#users").join(" ");
    assert!(!users.contains("amy@school.test") && !users.contains("bo@school.test"));

    // A good file creates every account, each with a temporary password shown once.
    let good = "Email,Display name,Organisation,Roles\r\n\
                amy@school.test,\"Shaw, Amy\",Riverside Academy,Practitioner\r\n\
                bo@school.test,Bo Li,riverside academy,designated_safeguarding_lead;practitioner\r\n";
    let made = admin
        .post(
            "/admin/users/import",
            &[("csrf_token", &token), ("csv", good)],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let table = made.select_text("#imported").join(" ");
    assert!(
        table.contains("amy@school.test") && table.contains("Shaw, Amy"),
        "{table}"
    );
    let passwords = made.select_text("#imported code");
    assert_eq!(passwords.len(), 2);
    assert!(passwords.iter().all(|p| p.len() == 19), "{passwords:?}");

    // An imported person signs in with it, must set up the authenticator app, and then
    // replace the temporary password before anything else opens.
    let mut amy = Browser::new(&app);
    let r = sign_in_password(&mut amy, "amy@school.test", &passwords[0]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        r.header("location").starts_with("/mfa/enrol"),
        "{}",
        r.header("location")
    );
    let enrol_page = amy.get("/mfa/enrol?next=/account").await;
    let secret = setup_key(&enrol_page);
    let t = csrf(&enrol_page);
    amy.post(
        "/mfa/enrol",
        &[
            ("code", &code_at(&app, &secret, 0)),
            ("csrf_token", &t),
            ("next", "/account"),
        ],
    )
    .await;
    let blocked = amy.get("/concerns").await;
    assert_eq!(blocked.header("location"), "/account/password");

    // Audited: an event per account and one for the import.
    let actions = crate::cases::audit_actions(&app, &[Category::Admin]).await;
    let tail: Vec<&str> = actions.iter().rev().take(3).map(String::as_str).collect();
    assert_eq!(
        tail,
        vec![
            "user.import:success",
            "user.create:success",
            "user.create:success"
        ]
    );

    // Only the partnership administrator may import.
    let mut dsl = Browser::new(&app);
    signed_in(&app, &mut dsl, "dsl@school.test").await;
    assert_eq!(
        dsl.get("/admin/users/import").await.status,
        StatusCode::FORBIDDEN
    );
    let t = csrf(&dsl.get("/account").await);
    let refused = dsl
        .post("/admin/users/import", &[("csrf_token", &t), ("csv", good)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
