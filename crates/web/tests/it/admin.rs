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
