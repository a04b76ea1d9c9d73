-- Every subscriber with the signup date (tenure) of dim_user.
SELECT u.user_id,
       u.signup_date
FROM {{ schema }}.dim_user u
